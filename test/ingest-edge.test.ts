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
    const [article] = kb.listArticles();
    expect(article.passages).toBe(1);
    const result = await kb.ask('Where does the cup final kick off?');
    expect(result.answered).toBe(true);
    expect(result.answer).toContain('Wembley');
  });

  it('an article with no text is refused with a reason and never stored empty', async () => {
    const report = await kb.ingest([{ title: 'Nothing here', body: '   ', origin: 'empty.md' }]);
    expect(kb.listArticles()).toHaveLength(0);
    expect(report.added).toBe(0);
    expect(report.refused).toEqual([{ id: 'nothing-here', title: 'Nothing here', origin: 'empty.md', reason: 'no text to index' }]);
  });
});
