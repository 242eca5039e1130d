/**
 * Issue 12, item 3: overlapping changes to the same article are decided and written under one
 * per-article lock, and the decision is re-checked inside it.
 */
import { readdirSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeAdmin, replacementKey } from '../src/core/admin/index.js';
import type { KnowledgeBase } from '../src/core/knowledge-base.js';
import type { RawArticle } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { openSeedKnowledgeCopy } from './helpers/seed-knowledge.js';

const MOD = { id: '111111111111111111', name: 'mod', via: 'discord' };
const OTHER = { id: '222222222222222222', name: 'other', via: 'discord' };

const version = (n: number): RawArticle => ({
  title: 'Harbour works',
  body: `Version ${n}: the harbour works will cost ${n} million and finish in spring, the board said on Monday after a long meeting.`,
  origin: `typed-${n}`,
});

let dir: string;
let knowledge: string;
let kb: KnowledgeBase;
let admin: KnowledgeAdmin;

beforeEach(async () => {
  ({ dir, knowledge, kb } = await openSeedKnowledgeCopy('admin-lock-', new HashEmbedder()));
  admin = new KnowledgeAdmin({ kb, knowledgeDir: knowledge });
});
afterEach(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('overlapping /kb add of the same title', () => {
  it('adds one and asks to confirm the other; knowledge/ holds one file', async () => {
    const [a, b] = await Promise.all([admin.add(version(1), MOD), admin.add(version(2), OTHER)]);
    expect([a.status, b.status].sort()).toEqual(['added', 'needs-confirmation']);
    const files = readdirSync(knowledge).filter((f) => f.startsWith('harbour-works'));
    expect(files).toEqual(['harbour-works.md']);
    const first = a.status === 'added' ? 1 : 2;
    expect(await kb.articleBody('harbour-works')).toContain(`Version ${first}:`);
    expect((await kb.listArticles()).filter((x) => x.id.startsWith('harbour-works'))).toHaveLength(1);
  });

  it('a confirmed replace re-checks what it replaces: another change since the question asks again', async () => {
    await admin.add(version(1), MOD);
    const asked = await admin.add(version(2), MOD);
    expect(asked.status).toBe('needs-confirmation');
    if (asked.status !== 'needs-confirmation') return;
    const confirmed = replacementKey(asked.preview.replaces);
    // Someone else replaces the article before the moderator clicks Replace.
    expect((await admin.add(version(3), OTHER, { replace: true })).status).toBe('replaced');
    const late = await admin.add(version(2), MOD, { replace: true, confirmed });
    expect(late.status).toBe('needs-confirmation');
    expect(await kb.articleBody('harbour-works')).toContain('Version 3:');
    // Confirming what is there now goes through.
    if (late.status !== 'needs-confirmation') return;
    const done = await admin.add(version(2), MOD, { replace: true, confirmed: replacementKey(late.preview.replaces) });
    expect(done.status).toBe('replaced');
    expect(await kb.articleBody('harbour-works')).toContain('Version 2:');
  });

  it('a remove overlapping an add of the same article waits for it and removes what was added', async () => {
    await admin.add(version(1), MOD);
    const [replaced, removed] = await Promise.all([admin.add(version(2), MOD, { replace: true }), admin.remove('harbour-works', OTHER)]);
    expect(replaced.status).toBe('replaced');
    expect(removed.removed.id).toBe('harbour-works');
    expect(await kb.getArticle('harbour-works')).toBeUndefined();
    expect(readdirSync(knowledge).filter((f) => f.startsWith('harbour-works'))).toEqual([]);
  });
});
