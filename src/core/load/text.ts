/** `.txt`: the first non-empty line is the title, the rest is the body. */
import type { RawArticle } from '../types.js';
import { MAX_TITLE_CHARS } from './limits.js';
import { collapseSpaces, decodeText, joinParagraphs, LoadError, normaliseNewlines, plainTextParagraphs } from './decode.js';

export function textToArticle(text: string, origin: string, url?: string): RawArticle {
  const lines = normaliseNewlines(text).split('\n');
  const titleIndex = lines.findIndex((l) => l.trim() !== '');
  if (titleIndex === -1) throw new LoadError(origin, 'empty file (only whitespace)');
  const title = collapseSpaces(lines[titleIndex]);
  // A first line longer than a title can be (it is then cut) is a paragraph too: it stays in the body.
  const rest = lines.slice(title.length > MAX_TITLE_CHARS ? titleIndex : titleIndex + 1).join('\n');
  // A one-line note is still worth answering from: its only line is both title and body.
  const body = joinParagraphs(plainTextParagraphs(rest)) || title;
  const article: RawArticle = { title, body, origin };
  if (url) article.url = url;
  return article;
}

export function loadText(bytes: Uint8Array, origin: string, url?: string): RawArticle {
  return textToArticle(decodeText(bytes, origin), origin, url);
}
