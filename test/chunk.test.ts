import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunkArticle, dedupeParagraphs, mergeShortParagraphs, slugify, splitLongParagraph, splitParagraphs } from '../src/core/chunk.js';
import { markdownToArticle } from '../src/core/load/index.js';
import { wordTokens } from '../src/core/text/tokens.js';
import { benchParagraphs } from '../scripts/bench/dedupe.js';

const SEED = 'knowledge/hamas-us-hostage-negotiations.md';

describe('chunkArticle on the seed article', () => {
  const article = markdownToArticle(readFileSync(SEED, 'utf8'), SEED);
  const chunked = chunkArticle(article);

  it('keeps each repeated paragraph once and drops the repeated title lines', () => {
    expect(chunked.passages).toHaveLength(6);
    expect(chunked.duplicatesDropped).toBe(5);
    const texts = chunked.passages.map((p) => p.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts.some((t) => t === article.title)).toBe(false);
  });

  it('gives stable ids (slug + paragraph) and content hashes', () => {
    expect(chunked.id).toBe('hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look');
    expect(chunked.passages.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `${chunked.id}#${n}`));
    const again = chunkArticle(article);
    expect(again.passages.map((p) => p.hash)).toEqual(chunked.passages.map((p) => p.hash));
    expect(again.hash).toBe(chunked.hash);
    const qatar = chunked.passages.find((p) => p.text.includes('Qatar'));
    expect(qatar?.paragraph).toBe(4);
  });
});

describe('paragraph rules', () => {
  it('normalises whitespace and splits on blank lines only', () => {
    expect(splitParagraphs('One\nline  two.\r\n\r\n  Three\u00a0four.  \n\n\n')).toEqual(['One line two.', 'Three four.']);
  });

  it('drops near-exact duplicates (a changed comma) but keeps different paragraphs', () => {
    const a = 'The talks took place in Qatar in March and marked a departure from the usual stance of the United States.';
    const b = 'The talks took place in Qatar in March, and marked a departure from the usual stance of the United States.';
    const c = 'Hamas later rejected the offer after a week of silence from both sides of the negotiating table.';
    expect(dedupeParagraphs([a, b, c], 'Title')).toMatchObject({ kept: [a, c], dropped: 1 });
  });

  it('merges a dateline into the next paragraph', () => {
    expect(mergeShortParagraphs(['LONDON (Reuters) -', 'Markets fell sharply on Monday as traders weighed the news.'], 60)).toEqual([
      'LONDON (Reuters) - Markets fell sharply on Monday as traders weighed the news.',
    ]);
    expect(mergeShortParagraphs(['A long enough paragraph that stands on its own two feet.', 'Ends.'], 20)).toEqual([
      'A long enough paragraph that stands on its own two feet. Ends.',
    ]);
  });

  it('splits a long paragraph at sentence boundaries within the limit', () => {
    const sentence = 'This sentence is about forty-five characters. ';
    const long = sentence.repeat(30).trim();
    const pieces = splitLongParagraph(long, 200);
    expect(pieces.length).toBeGreaterThan(5);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(200);
      expect(p.endsWith('.')).toBe(true);
    }
    expect(pieces.join(' ')).toBe(long);
  });

  it('numbers split parts under one paragraph', () => {
    const long = 'Word after word makes a sentence here. '.repeat(40).trim();
    const chunked = chunkArticle({ title: 'Long one', body: `The first paragraph is long enough to stand on its own as a paragraph.\n\n${long}`, origin: 't' }, { maxChars: 300 });
    const second = chunked.passages.filter((p) => p.paragraph === 2);
    expect(second.length).toBeGreaterThan(1);
    expect(second[0].id).toBe('long-one#2.1');
  });

  it('slugifies titles to ascii ids', () => {
    expect(slugify('Café Société: 2025 — Review!')).toBe('cafe-societe-2025-review');
    expect(slugify('???')).toBe('article');
  });
});

describe('long paragraphs keep every character (issue 12, item 5)', () => {
  const squeeze = (s: string) => s.replace(/\s+/g, '');

  it('splits a 3,200-character Chinese paragraph at 。 and keeps all of it', () => {
    const sentence = '美国与哈马斯之间前所未有的会谈于三月在卡塔尔举行，标志着美国长期以来避免与被视为恐怖组织的哈马斯接触的立场发生了重大转变。';
    let paragraph = '';
    while (paragraph.length < 3200) paragraph += sentence;
    const chunked = chunkArticle({ title: '会谈', body: paragraph, origin: 'zh.txt' });
    expect(chunked.passages.length).toBeGreaterThanOrEqual(4);
    for (const p of chunked.passages) {
      expect(p.text.length).toBeLessThanOrEqual(1000);
      expect(p.text.endsWith('。')).toBe(true);
    }
    expect(squeeze(chunked.passages.map((p) => p.text).join(''))).toBe(squeeze(paragraph));
  });

  it('keeps a token longer than the limit whole across pieces', () => {
    const token = 'x'.repeat(2500);
    const paragraph = `See the link ${token} for the full text of the agreement that was signed.`;
    const pieces = splitLongParagraph(paragraph, 1000);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(1000);
    expect(squeeze(pieces.join(''))).toBe(squeeze(paragraph));
  });

  it('leaves no tiny leftover piece (a 3-character passage) after a split', () => {
    const long = `${'The envoy spoke at length about the talks and the hostages and what comes next '.repeat(13).slice(0, 998).trim()}.`;
    const paragraph = `${long} Ok.`;
    const chunked = chunkArticle({ title: 'Envoy', body: `${paragraph}`, origin: 'e.txt' });
    expect(chunked.passages.length).toBeGreaterThan(1);
    for (const p of chunked.passages) {
      expect(p.text.length).toBeGreaterThanOrEqual(60);
      expect(p.text.length).toBeLessThanOrEqual(1000);
    }
    expect(squeeze(chunked.passages.map((p) => p.text).join(''))).toBe(squeeze(paragraph));
  });
});

describe('de-duplication is near-linear (issue 12, item 1)', () => {
  /** The definition: every paragraph against every kept one (3-word shingles, Jaccard). */
  function reference(paragraphs: string[], title: string, threshold = 0.9) {
    const shingles = (t: string) => {
      const w = wordTokens(t);
      return new Set(w.length < 3 ? [w.join(' ')] : w.slice(0, -2).map((_, i) => w.slice(i, i + 3).join(' ')));
    };
    const jaccard = (a: Set<string>, b: Set<string>) => {
      let inter = 0;
      for (const x of a) if (b.has(x)) inter++;
      return inter / (a.size + b.size - inter);
    };
    const titleKey = wordTokens(title).join(' ');
    const kept: string[] = [];
    const seen: Set<string>[] = [];
    for (const p of paragraphs) {
      if (wordTokens(p).join(' ') === titleKey) continue;
      const sh = shingles(p);
      if (seen.some((s) => jaccard(s, sh) >= threshold)) continue;
      seen.push(sh);
      kept.push(p);
    }
    return kept;
  }

  it('keeps exactly what comparing every pair keeps', () => {
    const paragraphs = benchParagraphs(600, 3);
    paragraphs.push(paragraphs[5], `${paragraphs[9]}`.toUpperCase(), 'Title', 'one two', 'one two', '...', '!!!');
    expect(dedupeParagraphs(paragraphs, 'Title').kept).toEqual(reference(paragraphs, 'Title'));
    expect(dedupeParagraphs(paragraphs, 'Title', 0.5).kept).toEqual(reference(paragraphs, 'Title', 0.5));
  });

  it('compares a few candidate pairs per paragraph on 8,800 paragraphs, not every pair', () => {
    const paragraphs = benchParagraphs();
    const result = dedupeParagraphs(paragraphs, 'Title');
    expect(result.dropped).toBeGreaterThan(700);
    // Every pair would be ~35 million comparisons.
    expect(result.comparisons).toBeLessThan(paragraphs.length * 2);
  });
});
