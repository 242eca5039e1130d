import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundledEmbedder } from '../src/core/embed/bundled-embedder.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';

// The shipped seed article alone, with the bundled encoder a new user gets: a knowledge base of one
// article must answer the plain questions it can answer, in the user's words, and still refuse
// questions it cannot. (Known miss, not listed: "why" questions worded far from the article, such as
// "Why did the negotiations end up going nowhere?", are still refused; README, Quality.)
let dir: string;
let embedder: BundledEmbedder;
let kb: KnowledgeBase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seed-answers-'));
  embedder = await BundledEmbedder.load();
  kb = await KnowledgeBase.open({ dataDir: dir, embedder });
  const { articles } = await loadDirectory('knowledge');
  await kb.ingest(articles);
}, 60_000);

afterAll(async () => {
  await kb?.close();
  await embedder?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one-article knowledge base (knowledge/ seed article, bundled encoder)', () => {
  it.each([
    ['Which nation hosted the talks between Washington and Hamas?', /Qatar/],
    ['In which country did the US and Hamas meet?', /Qatar/],
    ['Name the American official who pushed for a hostage deal.', /Adam Boehler/],
    ['Who did Trump hope to announce had been freed?', /Edan Alexander/],
    ['What derailed the hostage negotiations?', /Israeli resistance/],
    ['Which Israeli leader did Trump hold meetings with?', /Netanyahu/],
  ])('answers %s with the sentence that holds the fact', async (question, fact) => {
    const result = await kb.ask(question);
    expect(result.answered).toBe(true);
    expect(result.answer).toMatch(fact);
    expect(result.sources.length).toBeGreaterThan(0);
  });

  it.each(['What is the capital of Australia?', 'How many goals did Wayne Rooney score for Manchester United in 2004?', 'When did Apple release the first iPod?'])(
    'refuses %s',
    async (question) => {
      const result = await kb.ask(question);
      expect(result.answered).toBe(false);
    },
  );
});
