/**
 * `npm run feeds` as a real process, the way an operator runs it: list and remove (no model
 * loaded), for the shared knowledge base and for one server's own (`--guild`), and the refusal of
 * a feed on a private address (the command line has no way to relax the fetcher's address check).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const GUILD = '333333333333333333';

let dir: string;
let dataDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'feeds-cli-'));
  dataDir = join(dir, 'data');
  const now = new Date('2026-12-01T08:00:00Z');
  for (const [where, url] of [
    [dataDir, 'https://news.example/feed.xml'],
    [join(dataDir, 'servers', GUILD), 'https://village.example/sitemap.xml'],
  ] as const) {
    const kb = await KnowledgeBase.open({ dataDir: where, embedder: new HashEmbedder() });
    const store = kb.tenant.feeds;
    const feed = await store.add({ url, addedBy: 'mod', now, nextPollAt: new Date('2026-12-01T08:30:00Z') });
    await store.recordPoll(feed.id, { at: now.toISOString(), result: 'ok', message: '3 entries, 3 new, 0 updated, 0 unchanged', nextPollAt: '2026-12-01T08:31:00.000Z', failures: 0, newArticles: 3, title: 'Example news' });
    await kb.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = () => ({ ...process.env, DATA_DIR: dataDir, KNOWLEDGE_DIR: join(dir, 'knowledge'), LOG_FORMAT: 'json' as const, LOG_LEVEL: 'warn' });
const feeds = (...args: string[]) => run(tsx, ['scripts/feeds.ts', ...args], { env: env(), timeout: 60_000 });

describe('npm run feeds', () => {
  it('lists the feeds of the shared knowledge base, or of one server with --guild', async () => {
    const shared = await feeds('list');
    expect(shared.stdout).toContain('1. https://news.example/feed.xml (Example news)');
    expect(shared.stdout).toMatch(/last poll:\s+2026-12-01T08:00:00.000Z — ok: 3 entries, 3 new/);
    expect(shared.stdout).toMatch(/articles:\s+3/);
    expect(shared.stdout).toMatch(/next poll:\s+2026-12-01T08:31:00.000Z/);
    expect(shared.stdout).not.toContain('village.example');
    const server = await feeds('list', '--guild', GUILD);
    expect(server.stdout).toContain('1. https://village.example/sitemap.xml');
    expect(server.stdout).not.toContain('news.example');
  });

  it('removes a feed by number or URL and says its articles stay; an unknown one is a clear error', async () => {
    const removed = await feeds('remove', 'https://village.example/sitemap.xml', '--guild', GUILD);
    expect(removed.stdout).toContain('Stopped following https://village.example/sitemap.xml; its 3 articles stay in server 333333333333333333.');
    expect((await feeds('list', '--guild', GUILD)).stdout).toContain('No feeds.');
    const unknown = await feeds('remove', '7').catch((e: { stderr: string; code: number }) => e);
    expect(unknown).toMatchObject({ code: 1 });
    expect((unknown as { stderr: string }).stderr).toMatch(/There is no feed "7" here/);
  });

  it('refuses a feed on a private address: no setting relaxes the fetcher', async () => {
    const refused = await feeds('add', 'http://127.0.0.1:9/feed.xml').catch((e: { stderr: string; code: number }) => e);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(/Could not follow http:\/\/127\.0\.0\.1:9\/feed\.xml: refused: 127\.0\.0\.1 is a loopback address\. Nothing was changed\./);
    expect((await feeds('list')).stdout).not.toContain('127.0.0.1');
  }, 120_000);
});
