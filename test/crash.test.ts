/**
 * A crash in the middle of a write: a child process (tsx) makes a large add and is SIGKILLed at
 * exact points it announces (inside embedding, right after a catalog commit, after a removal) and
 * after a few delays. Reopening must load the last committed state with catalog, HNSW and BM25
 * consistent (the start-up check repairs HNSW from the catalog when needed), never half an article.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkArticle } from '../src/core/chunk.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { largeBatch } from './fixtures/crash-articles.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';
const CHILD = join('test', 'fixtures', 'crash-child.ts');
const children = new Set<import('node:child_process').ChildProcess>();

let root: string;
let template: string;
const expected = new Map(largeBatch().map((a) => [chunkArticle(a).id, chunkArticle(a)]));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kb-crash-'));
  template = join(root, 'template');
  const kb = await KnowledgeBase.open({ dataDir: template, embedder: new HashEmbedder() });
  await kb.ingest((await loadDirectory('knowledge')).articles);
  await kb.close();
});
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Runs the child on a copy of the template; SIGKILLs it when `killWhen` matches a stdout line (or after `afterMs`). */
async function crash(mode: string, kill: { when?: RegExp; afterMs?: number }): Promise<{ dir: string; lines: string[]; killed: boolean }> {
  const dir = join(root, `${mode}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(template, dir, { recursive: true });
  // `node --import tsx` runs the TypeScript child in ONE process (the tsx CLI would start a second
  // one, which a SIGKILL of the first does not reach).
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  let stderr = '';
  let killed = false;
  const doKill = () => {
    if (!killed && child.exitCode === null) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (kill.when?.test(line)) doKill();
      if (line === 'READY' && kill.afterMs !== undefined) setTimeout(doKill, kill.afterMs);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  children.delete(child);
  // A timed kill can race with a child that just finished: what counts is how it ended.
  const wasKilled = killed && child.signalCode === 'SIGKILL';
  if (!wasKilled && code !== 0) throw new Error(`child failed (${code}): ${stderr}`);
  return { dir, lines, killed: wasKilled };
}

/** Reopens and checks: loadable, catalog = HNSW = BM25, whole articles only, answers from what is there. */
async function reopenAndCheck(dir: string): Promise<KnowledgeBase> {
  const kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
  const stats = await kb.stats();
  expect(kb.startup!.passages).toBe(stats.passages);
  expect(kb.startup!.hnswLive).toBe(stats.passages);
  expect(kb.startup!.lexical).toBe(stats.passages);
  for (const a of await kb.listArticles()) {
    const want = expected.get(a.id);
    if (!want) continue; // the seed article
    expect(a.hash).toBe(want.hash);
    expect((await kb.articlePassages(a.id)).map((p) => p.text)).toEqual(want.passages.map((p) => p.text));
  }
  // Every stored passage can be found by its own text through both indexes.
  const some = (await kb.listArticles()).filter((a) => expected.has(a.id)).slice(-2);
  for (const a of some) {
    const passage = (await kb.articlePassages(a.id))[7];
    const { passages } = await kb.retrieve(passage.text, { topK: 3 });
    expect(passages[0].passage.id).toBe(passage.id);
  }
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  return kb;
}

describe('killed in the middle of a large add', () => {
  it('inside the embedding, before anything was committed: the old state, untouched', async () => {
    const { dir, lines, killed } = await crash('embed-first', { when: /^MID-EMBED/ });
    expect(killed).toBe(true);
    expect(lines).toContain('MID-EMBED 5');
    const kb = await reopenAndCheck(dir);
    expect((await kb.stats()).articles).toBe(1);
    expect(kb.startup!.vectors).toBe('loaded');
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    await kb.close();
  });

  it('after a first group was committed (the store saves its HNSW file with every commit): that group, loaded as saved', async () => {
    const { dir, killed } = await crash('embed-late', { when: /^MID-EMBED/ });
    expect(killed).toBe(true);
    const kb = await reopenAndCheck(dir);
    const count = (await kb.stats()).articles;
    expect(count).toBeGreaterThan(1);
    expect(count).toBeLessThan(41);
    expect(kb.startup!.vectors).toBe('loaded');
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    expect((await kb.ask('Which vessel number passed the reef in survey 3 section 4?')).answer).toContain('304');
    // The write can simply be run again: committed articles are unchanged, the rest is added.
    const report = await kb.ingest(largeBatch());
    expect(report).toMatchObject({ unchanged: count - 1, added: 41 - count });
    await kb.close();
  });

  it('right after the catalog transaction: the change is there and the indexes agree with it', async () => {
    const { dir, lines, killed } = await crash('commit', { when: /^COMMITTED/ });
    expect(killed).toBe(true);
    expect(lines.some((l) => l.startsWith('COMMITTED'))).toBe(true);
    const kb = await reopenAndCheck(dir);
    expect((await kb.stats()).articles).toBeGreaterThan(1);
    expect(kb.startup!.vectors).toBe('rebuilt');
    expect(kb.startup!.reason).toMatch(/no vector file for catalog version/);
    await kb.close();
  });

  it('right after a removal was committed: the article is gone and never cited', async () => {
    const { dir, killed } = await crash('remove', { when: /^COMMITTED/ });
    expect(killed).toBe(true);
    const kb = await reopenAndCheck(dir);
    expect((await kb.stats()).articles).toBe(0);
    const result = await kb.ask(QUESTION);
    expect(result.sources).toEqual([]);
    expect(result.answer).not.toContain('Qatar');
    await kb.close();
  });

  it('at arbitrary moments: always a consistent, loadable state', async () => {
    for (const afterMs of [30, 120, 400]) {
      const { dir } = await crash('run', { afterMs });
      const kb = await reopenAndCheck(dir);
      expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
      await kb.close();
    }
  });
});
