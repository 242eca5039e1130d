import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatSummaryForTerminal } from '../src/cli/format.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { SummaryService, type SummaryResult } from '../src/core/summarize/service.js';
import type { RawArticle } from '../src/core/types.js';
import { cupFinalArticle, QATAR_WIRE } from './helpers/articles.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';

const football = cupFinalArticle('test');

const league: RawArticle = {
  title: 'Rovers lose the league decider',
  body: 'Rovers lost the league decider on Wednesday night, two days after a dismal display in front of a half-empty stadium. The coach blamed fatigue.',
  origin: 'test',
};

const notice: RawArticle = {
  title: 'Library opening hours',
  body: 'The central library will open at eight on weekdays from next month. Weekend hours stay the same. The council said the change follows a survey of readers.',
  origin: 'test',
};

let dir: string;
let embedder: HashEmbedder;
let seed: RawArticle[];
let kb: KnowledgeBase;
let service: SummaryService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'summary-test-'));
  embedder = new HashEmbedder();
  seed = (await loadDirectory('knowledge')).articles;
  kb = await KnowledgeBase.open({ dataDir: dir, embedder });
  service = new SummaryService({ kb, embedder });
});
afterEach(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every [n] marker of the text points at a listed source, and each sentence is followed by its own. */
function expectConsistentMarkers(result: SummaryResult): void {
  for (const m of result.text.matchAll(/\[(\d+)\]/g)) expect(result.sources.some((s) => s.n === Number(m[1]))).toBe(true);
  for (const s of result.sentences) {
    expect(result.text).toContain(`${s.text} [${s.n}]`);
    const source = result.sources[s.n - 1];
    expect(source.n).toBe(s.n);
    expect(source.articleId).toBe(s.articleId);
    expect(source.paragraph).toBe(s.paragraph);
    expect(source.text).toContain(s.text);
  }
  expect(result.sources.map((s) => s.n)).toEqual(result.sources.map((_, i) => i + 1));
}

describe('SummaryService.summarizeArticle', () => {
  it('summarises the seed article without repeating a sentence, in article order, cited by paragraph', async () => {
    await kb.ingest([...seed, football]);
    const id = (await kb.listArticles()).find((a) => a.title === SEED_TITLE)!.id;
    const articleText = (await kb.articlePassages(id)).map((p) => p.text).join(' ');
    for (const length of ['short', 'medium', 'long'] as const) {
      const result = await service.summarizeArticle(SEED_TITLE, length);
      expect(result).toMatchObject({ kind: 'article', title: SEED_TITLE, articleId: id, found: true, length });
      const texts = result.sentences.map((s) => s.text);
      expect(new Set(texts).size).toBe(texts.length);
      const positions = texts.map((t) => articleText.indexOf(t));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      // Sources are the article's paragraphs used, numbered in article order.
      const paragraphs = result.sources.map((s) => s.paragraph);
      expect([...paragraphs].sort((a, b) => a - b)).toEqual(paragraphs);
      expectConsistentMarkers(result);
    }
  });

  it('honours the length options', async () => {
    await kb.ingest([...seed]);
    const short = await service.summarizeArticle(SEED_TITLE, 'short');
    const medium = await service.summarizeArticle(SEED_TITLE, 'medium');
    const long = await service.summarizeArticle(SEED_TITLE, 'long');
    expect(short.sentences.length).toBeGreaterThanOrEqual(2);
    expect(short.sentences.length).toBeLessThanOrEqual(3);
    expect(medium.sentences.length).toBeGreaterThanOrEqual(4);
    expect(medium.sentences.length).toBeLessThanOrEqual(5);
    expect(long.sentences.length).toBeGreaterThanOrEqual(6);
    expect(long.sentences.length).toBeLessThanOrEqual(8);
    expect(short.text.length).toBeLessThan(medium.text.length);
    expect(medium.text.length).toBeLessThan(long.text.length);
    await expect(service.summarizeArticle(SEED_TITLE, 'huge' as never)).rejects.toThrow(UserInputError);
  });

  it('returns a one-paragraph article whole, without embedding, and does not pad a short one', async () => {
    await kb.ingest([notice, football]);
    const calls = embedder.calls;
    for (const length of ['short', 'medium', 'long'] as const) {
      const result = await service.summarizeArticle('Library opening hours', length);
      expect(result.found).toBe(true);
      expect(result.sentences.map((s) => s.text).join(' ')).toBe((await kb.articlePassages(result.articleId!))[0].text);
      expect(result.sources).toHaveLength(1);
      expect(result.sources[0].paragraph).toBe(1);
    }
    expect(embedder.calls).toBe(calls);
    const long = await service.summarizeArticle('Rovers win the cup final', 'long');
    expect(long.sentences).toHaveLength(3);
    expect(new Set(long.sentences.map((s) => s.paragraph))).toEqual(new Set([1, 2, 3]));
  });

  it('finds an article by id, any case, a unique prefix or a unique part of its title', async () => {
    await kb.ingest([...seed, football, league]);
    const id = (await kb.listArticles()).find((a) => a.title === SEED_TITLE)!.id;
    for (const ref of [id, SEED_TITLE.toUpperCase(), 'hamas and u.s.', '  "Hamas and U.S. Efforts"  ', 'closer look']) {
      expect((await service.resolveArticle(ref)).id).toBe(id);
    }
    expect((await service.summarizeArticle('rovers WIN', 'short')).title).toBe('Rovers win the cup final');
  });

  it('rejects an ambiguous or unknown title with up to five candidates', async () => {
    await kb.ingest([...seed, football, league]);
    const ambiguous = await service.summarizeArticle('rovers').catch((e: unknown) => e);
    expect(ambiguous).toBeInstanceOf(UserInputError);
    expect((ambiguous as Error).message).toMatch(/matches 2 articles/);
    expect((ambiguous as Error).message).toContain('Rovers win the cup final');
    expect((ambiguous as Error).message).toContain('Rovers lose the league decider');

    const unknown = await service.summarizeArticle('Hamas ceasefire report').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UserInputError);
    expect((unknown as Error).message).toMatch(/No article is titled “Hamas ceasefire report”/);
    expect((unknown as Error).message).toContain(SEED_TITLE);

    await expect(service.summarizeArticle('zebra crossings')).rejects.toThrow(/No article is titled/);
    await expect(service.summarizeArticle('   ')).rejects.toThrow(UserInputError);
    expect((await service.suggestArticles('rov')).map((a) => a.title)).toEqual(['Rovers lose the league decider', 'Rovers win the cup final']);
  });

  it('caches a summary (no embedding the second time) and drops it when the article changes or is removed', async () => {
    await kb.ingest([...seed, football]);
    const before = embedder.calls;
    const first = await service.summarizeArticle(SEED_TITLE, 'medium');
    expect(first.cached).toBe(false);
    expect(embedder.calls).toBe(before + 1);

    const second = await service.summarizeArticle(SEED_TITLE, 'medium');
    expect(embedder.calls).toBe(before + 1);
    expect(second.cached).toBe(true);
    expect({ ...second, cached: false }).toEqual(first);
    // Another length is another entry; a service over the same database shares the cache.
    await service.summarizeArticle(SEED_TITLE, 'short');
    expect(embedder.calls).toBe(before + 2);
    const again = await new SummaryService({ kb, embedder }).summarizeArticle(SEED_TITLE, 'short');
    expect(again.cached).toBe(true);
    expect(embedder.calls).toBe(before + 2);

    // Re-ingesting a changed article invalidates its summaries.
    const edited = { ...seed[0], body: seed[0].body.replace(/^Recent diplomatic efforts[^\n]*/m, 'Officials in Doha confirmed the Tuesday meeting between envoy Adam Boehler and senior Hamas negotiators, the first of its kind.') };
    await kb.ingest([edited]);
    const afterIngest = embedder.calls;
    const changed = await service.summarizeArticle(SEED_TITLE, 'medium');
    expect(changed.cached).toBe(false);
    expect(embedder.calls).toBe(afterIngest + 1);
    expect(changed.text).not.toContain('Recent diplomatic efforts');
    expect((await service.summarizeArticle(SEED_TITLE, 'medium')).cached).toBe(true);

    // Removing the article removes its cached summaries.
    const rows = async () => (await Promise.all(['short', 'medium'].map((length) => kb.tenant.summaries.get(changed.articleId!, length)))).filter(Boolean).length;
    expect(await rows()).toBe(2);
    await kb.remove([changed.articleId!]);
    expect(await rows()).toBe(0);
    await expect(service.summarizeArticle(SEED_TITLE)).rejects.toThrow(UserInputError);
  });

  it('an article with nothing to summarise is never stored (issue 12, item 6), so it is not found', async () => {
    const report = await kb.ingest([{ title: 'Empty page', body: '   ', origin: 'test' }, football]);
    expect(report.refused.map((r) => r.title)).toEqual(['Empty page']);
    await expect(service.summarizeArticle('empty page')).rejects.toThrow(/No article is titled “empty page”/);
  });
});

describe('SummaryService.summarizeTopic', () => {
  it('cites more than one article when two cover the topic, and states a shared fact once', async () => {
    await kb.ingest([...seed, QATAR_WIRE, football]);
    const result = await service.summarizeTopic('hostage talks in Qatar', 'long');
    expect(result).toMatchObject({ kind: 'topic', title: 'hostage talks in Qatar', found: true });
    expect(new Set(result.sources.map((s) => s.articleId)).size).toBeGreaterThanOrEqual(2);
    expect(result.sources.map((s) => s.title)).toEqual(expect.arrayContaining([SEED_TITLE, QATAR_WIRE.title]));
    // "The talks took place in Qatar in March" is in both articles: it appears once.
    expect(result.sentences.filter((s) => /Qatar in March/.test(s.text))).toHaveLength(1);
    // Nothing off the topic (the museum paragraph shares only "Qatar") and nothing from the football report.
    expect(result.text).not.toMatch(/museum|Rovers/);
    const texts = result.sentences.map((s) => s.text);
    expect(new Set(texts).size).toBe(texts.length);
    expectConsistentMarkers(result);
    expect(formatSummaryForTerminal(result)).toContain(`${QATAR_WIRE.title} ¶ 2`);
  });

  it('honours the length options for topics', async () => {
    await kb.ingest([...seed, QATAR_WIRE]);
    const short = await service.summarizeTopic('Hamas negotiations', 'short');
    const long = await service.summarizeTopic('Hamas negotiations', 'long');
    expect(short.sentences.length).toBeLessThanOrEqual(3);
    expect(long.sentences.length).toBeGreaterThan(short.sentences.length);
    expect(long.sentences.length).toBeLessThanOrEqual(8);
  });

  it('says plainly when nothing in the knowledge base is relevant, with no text of its own', async () => {
    await kb.ingest([...seed, QATAR_WIRE, football]);
    const result = await service.summarizeTopic('the boiling point of liquid nitrogen');
    expect(result).toMatchObject({ found: false, sentences: [], sources: [] });
    expect(result.message).toMatch(/has nothing on “the boiling point of liquid nitrogen”/);
    expect(result.text).toBe(result.message);
    expect(formatSummaryForTerminal(result)).toBe(result.message);
  });

  it('validates the topic like a question', async () => {
    await kb.ingest([football]);
    await expect(service.summarizeTopic('  ')).rejects.toThrow(UserInputError);
    await expect(service.summarizeTopic('x'.repeat(1001))).rejects.toThrow(/topic is 1001 characters long/);
  });
});
