/**
 * Ingest edge cases from issue 12: one-line notes (item 6) and the same title from another file (item 4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadBuffer } from '../src/core/load/index.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

let dir: string;
let kb: KnowledgeBase;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kb-edge-'));
  kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
});
afterEach(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a one-line note (issue 12, item 6)', () => {
  it('is stored with a passage and answers a question about it', async () => {
    const raw = await loadBuffer('note.txt', Buffer.from('The cup final kicks off at Wembley on Saturday at three in the afternoon\n'));
    const report = await kb.ingest([raw]);
    expect(report.added).toBe(1);
    const [article] = await kb.listArticles();
    expect(article.passages).toBe(1);
    const result = await kb.ask('Where does the cup final kick off?');
    expect(result.answered).toBe(true);
    expect(result.answer).toContain('Wembley');
  });

  it('an article with no text is refused with a reason and never stored empty', async () => {
    const report = await kb.ingest([{ title: 'Nothing here', body: '   ', origin: 'empty.md' }]);
    expect(await kb.listArticles()).toHaveLength(0);
    expect(report.added).toBe(0);
    expect(report.refused).toEqual([{ id: 'nothing-here', title: 'Nothing here', origin: 'empty.md', reason: 'no text to index' }]);
  });
});

describe('the same title from another file (issue 12, item 4)', () => {
  const cup = (origin: string, n: number) => ({
    title: 'Cup Final',
    body: `Report ${n}: Rovers met United in the cup final at Wembley, and the match ended ${n} to one after extra time.`,
    origin,
  });

  it('gets its own id on a later ingest instead of replacing the first, and says so', async () => {
    await kb.ingest([cup('a.md', 1)]);
    const report = await kb.ingest([cup('b.md', 2)]);
    expect(report.updated).toBe(0);
    expect(report.added).toBe(1);
    const ids = (await kb.listArticles()).map((a) => a.id).sort();
    expect(ids).toHaveLength(2);
    expect((await kb.getArticle('cup-final'))?.origin).toBe('a.md');
    expect(await kb.articleBody('cup-final')).toContain('Report 1:');
    const other = ids.find((id) => id !== 'cup-final')!;
    expect(other).toMatch(/^cup-final-[0-9a-f]{6}$/);
    expect(report.renamed).toEqual([{ id: other, title: 'Cup Final', origin: 'b.md', clashesWith: { id: 'cup-final', origin: 'a.md' } }]);
  });

  it('keeps those ids stable: re-ingesting either file updates its own article', async () => {
    await kb.ingest([cup('a.md', 1)]);
    await kb.ingest([cup('b.md', 2)]);
    const again = await kb.ingest([cup('a.md', 3), cup('b.md', 4)]);
    expect(again.updated).toBe(2);
    expect(again.added).toBe(0);
    expect(await kb.listArticles()).toHaveLength(2);
    expect(await kb.articleBody('cup-final')).toContain('Report 3:');
  });

  it('an explicit replace (a confirmed /kb add) still replaces the article of another origin', async () => {
    await kb.ingest([cup('a.md', 1)]);
    const report = await kb.ingest([cup('typed', 2)], { replace: ['cup-final'] });
    expect(report.updated).toBe(1);
    expect(await kb.listArticles()).toHaveLength(1);
    expect(await kb.articleBody('cup-final')).toContain('Report 2:');
  });
});
