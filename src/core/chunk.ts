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

function shingles(text: string): Set<string> {
  const words = wordTokens(text);
  const set = new Set<string>();
  if (words.length < 3) {
    set.add(words.join(' '));
    return set;
  }
  for (let i = 0; i + 3 <= words.length; i++) set.add(words.slice(i, i + 3).join(' '));
  return set;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * Keeps the first occurrence of each paragraph; drops later exact or near-exact repeats
 * (and repeats of the title). Returns the kept paragraphs and how many were dropped.
 */
export function dedupeParagraphs(paragraphs: string[], title: string, threshold = DEFAULTS.nearDuplicate): { kept: string[]; dropped: number } {
  const kept: string[] = [];
  const seen: Set<string>[] = [];
  const titleKey = wordTokens(title).join(' ');
  let dropped = 0;
  for (const p of paragraphs) {
    if (titleKey && wordTokens(p).join(' ') === titleKey) {
      dropped++;
      continue;
    }
    const sh = shingles(p);
    if (seen.some((s) => jaccard(s, sh) >= threshold)) {
      dropped++;
      continue;
    }
    seen.push(sh);
    kept.push(p);
  }
  return { kept, dropped };
}

/** Splits a long paragraph into pieces of at most `maxChars`, at sentence boundaries where possible. */
export function splitLongParagraph(paragraph: string, maxChars: number): string[] {
  if (paragraph.length <= maxChars) return [paragraph];
  const pieces: string[] = [];
  let current = '';
  for (const sentence of splitSentences(paragraph)) {
    // A single sentence longer than the limit is cut at word boundaries as a last resort.
    for (const part of sentence.length > maxChars ? hardWrap(sentence, maxChars) : [sentence]) {
      if (current && current.length + 1 + part.length > maxChars) {
        pieces.push(current);
        current = part;
      } else {
        current = current ? `${current} ${part}` : part;
      }
    }
  }
  if (current) pieces.push(current);
  return pieces;
}

function hardWrap(text: string, maxChars: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > maxChars) {
      out.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word.slice(0, maxChars);
  }
  if (line) out.push(line);
  return out;
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
  const { kept, dropped } = dedupeParagraphs(splitParagraphs(article.body), title, opts.nearDuplicate);
  const merged = mergeShortParagraphs(kept, opts.minChars);
  const passages: Passage[] = [];
  merged.forEach((paragraph, index) => {
    const number = index + 1;
    const pieces = splitLongParagraph(paragraph, opts.maxChars);
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
    origin: article.origin,
    hash: hashText([title, article.url ?? '', ...passages.map((p) => p.text)].join('\n')),
    passages,
    duplicatesDropped: dropped,
  };
}
