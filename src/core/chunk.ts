import { createHash } from 'node:crypto';
import { splitSentences } from './text/sentences.js';
import { wordTokens } from './text/tokens.js';
import type { ChunkedArticle, Passage, RawArticle } from './types.js';

/** Options of {@link chunkArticle}. */
export interface ChunkOptions {
  /**
   * Paragraphs longer than this are split at sentence boundaries. Default 1,000 characters
   * (about 230 tokens: inside the 256-token window of MiniLM-class models).
   */
  maxChars?: number;
  /** Paragraphs shorter than this (a dateline, a byline) are merged into a neighbour. Default 60. */
  minChars?: number;
  /** Word-shingle Jaccard similarity at or above which two paragraphs count as duplicates. Default 0.9. */
  nearDuplicate?: number;
}

const DEFAULTS: Required<ChunkOptions> = { maxChars: 1000, minChars: 60, nearDuplicate: 0.9 };

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** URL- and file-safe id from a title: "Hamas & U.S. talks" → "hamas-u-s-talks". */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return slug || 'article';
}

/** The id of an article whose title's id belongs to an article from another origin: `<slug>-<hash of its origin>`. */
export function originId(slug: string, origin: string): string {
  return `${slug}-${hashText(origin).slice(0, 6)}`;
}

export function normalizeWhitespace(text: string): string {
  return text.normalize('NFC').replace(/[\u00a0\u2000-\u200b\u202f\u205f\u3000]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Paragraphs of a body: blocks separated by blank lines, whitespace-normalised, empties dropped. */
export function splitParagraphs(body: string): string[] {
  return body
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map(normalizeWhitespace)
    .filter((p) => p.length > 0);
}

/** Word 3-shingles of a paragraph (its words joined, when it has fewer than three). */
function shingles(words: string[]): string[] {
  if (words.length < 3) return [words.join(' ')];
  const set = new Set<string>();
  for (let i = 0; i + 3 <= words.length; i++) set.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return [...set];
}

/** |a ∩ b| / |a ∪ b| of two sets given as arrays of distinct strings (`b` as a Set). */
function jaccard(a: string[], b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.length + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * Keeps the first occurrence of each paragraph; drops later exact or near-exact repeats
 * (and repeats of the title, unless the title is all the text there is). Returns the kept
 * paragraphs, how many were dropped, and how many paragraph pairs were compared.
 *
 * Near-linear: exact repeats are found in a hash set; for near repeats, each paragraph's shingles
 * are ordered rarest first (over the whole article) and only kept paragraphs sharing one of the
 * first |s| − ⌈t·|s|⌉ + 1 of them are compared (prefix filtering: two sets with Jaccard ≥ t always
 * share a shingle in those prefixes), after a size filter. The result is exactly the one of
 * comparing every pair.
 */
export function dedupeParagraphs(
  paragraphs: string[],
  title: string,
  threshold = DEFAULTS.nearDuplicate,
): { kept: string[]; dropped: number; comparisons: number } {
  const titleKey = wordTokens(title).join(' ');
  const words = paragraphs.map((p) => wordTokens(p));
  const sets = words.map(shingles);
  const frequency = new Map<string, number>();
  for (const set of sets) for (const s of set) frequency.set(s, (frequency.get(s) ?? 0) + 1);
  const rarestFirst = (a: string, b: string) => frequency.get(a)! - frequency.get(b)! || (a < b ? -1 : a > b ? 1 : 0);

  const kept: string[] = [];
  const keptSets: Set<string>[] = [];
  const exact = new Set<string>();
  /** Shingle → kept paragraphs (indexes into keptSets) with it in their prefix. */
  const prefixIndex = new Map<string, number[]>();
  let dropped = 0;
  let comparisons = 0;
  let titleLine: string | undefined;
  paragraphs.forEach((p, i) => {
    const key = words[i].join(' ');
    if (titleKey && key === titleKey) {
      titleLine ??= p;
      dropped++;
      return;
    }
    if (exact.has(key)) {
      dropped++;
      return;
    }
    const sh = sets[i].sort(rarestFirst);
    const prefix = sh.length - Math.ceil(threshold * sh.length) + 1;
    const candidates = new Set<number>();
    for (let j = 0; j < Math.min(prefix, sh.length); j++) for (const k of prefixIndex.get(sh[j]) ?? []) candidates.add(k);
    for (const k of candidates) {
      const other = keptSets[k];
      if (Math.min(other.size, sh.length) < threshold * Math.max(other.size, sh.length)) continue;
      comparisons++;
      if (jaccard(sh, other) >= threshold) {
        dropped++;
        return;
      }
    }
    const index = keptSets.length;
    keptSets.push(new Set(sh));
    exact.add(key);
    kept.push(p);
    for (let j = 0; j < Math.min(prefix, sh.length); j++) {
      const list = prefixIndex.get(sh[j]);
      if (list) list.push(index);
      else prefixIndex.set(sh[j], [index]);
    }
  });
  // A one-line note: its only text is the title, which is then the content, not a repeat.
  if (kept.length === 0 && titleLine !== undefined) return { kept: [titleLine], dropped: dropped - 1, comparisons };
  return { kept, dropped, comparisons };
}

/**
 * Splits a long paragraph into pieces of at most `maxChars`, at sentence boundaries where possible.
 * Every character of the paragraph (whitespace aside) is in exactly one piece: a sentence longer
 * than the limit is cut at a space, and a run without spaces (a URL, Chinese text without
 * terminators) at the limit. A last piece shorter than `minChars` is evened out with the one before
 * it, so a split never leaves a 3-character passage behind.
 */
export function splitLongParagraph(paragraph: string, maxChars: number, minChars = 0): string[] {
  const text = paragraph.replace(/\s+/g, ' ').trim();
  if (text.length <= maxChars) return text ? [text] : [];
  const ends = sentenceEnds(text);
  const ranges: [number, number][] = [];
  let start = 0;
  let e = 0;
  while (start < text.length) {
    if (text.length - start <= maxChars) {
      ranges.push([start, text.length]);
      break;
    }
    const limit = start + maxChars;
    while (e < ends.length && ends[e] <= start) e++;
    let cut = -1;
    while (e < ends.length && ends[e] <= limit) cut = ends[e++];
    if (cut === -1) cut = wordCut(text, start, limit);
    ranges.push([start, cut]);
    start = cut;
    while (text[start] === ' ') start++;
  }
  if (ranges.length >= 2 && trimmedLength(text, ranges[ranges.length - 1]) < minChars) {
    const [a] = ranges[ranges.length - 2];
    const [, z] = ranges[ranges.length - 1];
    const cut = balancedCut(text, a, z, ends, maxChars, minChars);
    if (cut !== undefined) ranges.splice(ranges.length - 2, 2, [a, cut], [cut, z]);
  }
  return ranges.map(([a, b]) => text.slice(a, b).trim()).filter(Boolean);
}

/** Offsets just after each sentence of `text` (whitespace already normalised). */
function sentenceEnds(text: string): number[] {
  const ends: number[] = [];
  let from = 0;
  for (const sentence of splitSentences(text)) {
    const at = text.indexOf(sentence, from);
    if (at === -1) continue;
    from = at + sentence.length;
    ends.push(from);
  }
  return ends;
}

/** Where to cut a run with no sentence end before `limit`: the last space, else the limit (never inside a surrogate pair). */
function wordCut(text: string, start: number, limit: number): number {
  const space = text.lastIndexOf(' ', limit);
  if (space > start) return space;
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}

function trimmedLength(text: string, [a, b]: [number, number]): number {
  return text.slice(a, b).trim().length;
}

/** A cut in [a, z) near the middle, both sides within the limits: a sentence end, else a space, else the middle. */
function balancedCut(text: string, a: number, z: number, ends: number[], maxChars: number, minChars: number): number | undefined {
  const ok = (c: number) => {
    const left = trimmedLength(text, [a, c]);
    const right = trimmedLength(text, [c, z]);
    return left >= minChars && right >= minChars && left <= maxChars && right <= maxChars;
  };
  const mid = a + Math.floor((z - a) / 2);
  const byDistance = (x: number, y: number) => Math.abs(x - mid) - Math.abs(y - mid);
  const sentence = ends.filter((c) => c > a && c < z && ok(c)).sort(byDistance)[0];
  if (sentence !== undefined) return sentence;
  for (let d = 0; d < (z - a) / 2; d++) {
    for (const c of [mid - d, mid + d]) if (text[c] === ' ' && ok(c)) return c;
  }
  return ok(mid) ? mid : undefined;
}

/** Merges paragraphs shorter than `minChars` into the following paragraph (the previous one at the end). */
export function mergeShortParagraphs(paragraphs: string[], minChars: number): string[] {
  const out: string[] = [];
  let carry = '';
  for (const p of paragraphs) {
    const text = carry ? `${carry} ${p}` : p;
    if (text.length < minChars) {
      carry = text;
      continue;
    }
    out.push(text);
    carry = '';
  }
  if (carry) {
    if (out.length > 0) out[out.length - 1] = `${out[out.length - 1]} ${carry}`;
    else out.push(carry);
  }
  return out;
}

/**
 * Turns a loaded article into passages: paragraphs, whitespace normalised, duplicates dropped,
 * short ones merged, long ones split. Paragraph numbers count the kept paragraphs from 1, so
 * "¶ 3" means the third paragraph a reader of the de-duplicated article sees.
 */
export function chunkArticle(article: RawArticle, options: ChunkOptions = {}, id = slugify(article.title)): ChunkedArticle {
  const opts = { ...DEFAULTS, ...options };
  const title = normalizeWhitespace(article.title);
  const author = article.author ? normalizeWhitespace(article.author) || undefined : undefined;
  const { kept, dropped } = dedupeParagraphs(splitParagraphs(article.body), title, opts.nearDuplicate);
  const merged = mergeShortParagraphs(kept, opts.minChars);
  const passages: Passage[] = [];
  merged.forEach((paragraph, index) => {
    const number = index + 1;
    const pieces = splitLongParagraph(paragraph, opts.maxChars, opts.minChars);
    pieces.forEach((text, part) => {
      passages.push({
        id: pieces.length === 1 ? `${id}#${number}` : `${id}#${number}.${part + 1}`,
        articleId: id,
        paragraph: number,
        text,
        hash: hashText(text),
      });
    });
  });
  return {
    id,
    title,
    url: article.url,
    date: article.date,
    ...(author ? { author } : {}),
    origin: article.origin,
    hash: articleHash(title, article.url, passages, article.date, author),
    passages,
    duplicatesDropped: dropped,
  };
}

/**
 * An article's content hash. A changed date or author is a new version (re-committed; its
 * paragraphs keep their vectors), but they are hashed only when present, so articles without
 * them keep the hashes they were stored with and an existing index is not re-committed.
 */
export function articleHash(title: string, url: string | undefined, passages: Pick<Passage, 'text'>[], date?: string, author?: string): string {
  const lines = [title, url ?? '', ...passages.map((p) => p.text)];
  if (date || author) lines.push(`\u0000date:${date ?? ''}`, `\u0000author:${author ?? ''}`);
  return hashText(lines.join('\n'));
}
