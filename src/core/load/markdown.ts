/**
 * `.md` / `.markdown`: YAML front matter (gray-matter) for title/url/date, and a small
 * Markdown → plain-text converter for the body (no Markdown library: we only need the text).
 */
import matter from 'gray-matter';
import type { RawArticle } from '../types.js';
import {
  collapseSpaces,
  decodeText,
  joinParagraphs,
  LoadError,
  normaliseDate,
  normaliseNewlines,
  titleFromFileName,
} from './decode.js';

type Block =
  | { kind: 'heading'; level: number; text: string }
  /** `lines[i].hard` = starts on its own line (list item, table row, code) rather than a soft wrap. */
  | { kind: 'para'; lines: { text: string; hard: boolean }[] };

export function markdownToArticle(source: string, origin: string, url?: string): RawArticle {
  const { data, content } = parseFrontMatter(source, origin);

  const blocks = markdownBlocks(content);
  const fmTitle = stringField(data.title);
  let title = fmTitle;
  const h1 = blocks.findIndex((b) => b.kind === 'heading' && b.level === 1 && b.text !== '');
  let usedHeading = false;
  if (h1 !== -1) {
    const headingText = (blocks[h1] as { text: string }).text;
    if (!title) title = headingText;
    if (title.toLowerCase() === headingText.toLowerCase()) {
      blocks.splice(h1, 1);
      usedHeading = true;
    }
  }
  if (!title) title = titleFromFileName(origin);

  let body = joinParagraphs(blocks.map(blockText));
  if (!body && usedHeading) body = title;
  if (!body) throw new LoadError(origin, 'no text content');

  const article: RawArticle = { title, body, origin };
  const docUrl = stringField(data.url) || stringField(data.source) || url;
  if (docUrl) article.url = docUrl;
  const date = normaliseDate(data.date);
  if (date) article.date = date;
  const author = authorField(data.author ?? data.authors);
  if (author) article.author = author;
  return article;
}

export function loadMarkdown(bytes: Uint8Array, origin: string, url?: string): RawArticle {
  return markdownToArticle(decodeText(bytes, origin), origin, url);
}

function parseFrontMatter(source: string, origin: string): { data: Record<string, unknown>; content: string } {
  const text = normaliseNewlines(source);
  try {
    // Passing options disables gray-matter's global cache, which would otherwise return `{}` data
    // the second time it sees the same (broken) input instead of throwing again.
    const parsed = matter(text, { excerpt: false });
    const data =
      parsed.data && typeof parsed.data === 'object' && !Array.isArray(parsed.data)
        ? (parsed.data as Record<string, unknown>)
        : {};
    return { data, content: parsed.content };
  } catch (err) {
    throw new LoadError(origin, `invalid YAML front matter: ${describeYamlError(err)}`);
  }
}

function describeYamlError(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown; mark?: { line?: unknown; column?: unknown } };
  const reason = typeof e?.reason === 'string' && e.reason ? e.reason : String(e?.message ?? err).split('\n')[0];
  if (e?.mark && typeof e.mark.line === 'number') {
    // js-yaml counts lines from 0 inside the front matter; the file has the opening `---` first.
    return `${reason} (line ${e.mark.line + 2})`;
  }
  return reason;
}

/** `author: Jane Doe`, a list of names (`[Jane Doe, John Roe]`), or `{ name: Jane Doe }`: names joined with commas. */
function authorField(v: unknown): string {
  const one = (x: unknown) => stringField(typeof x === 'object' && x !== null ? (x as { name?: unknown }).name : x);
  return (Array.isArray(v) ? v.map(one) : [one(v)]).filter(Boolean).join(', ');
}

function stringField(v: unknown): string {
  if (typeof v === 'string') return collapseSpaces(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

function blockText(b: Block): string {
  if (b.kind === 'heading') return b.text;
  let out = '';
  for (const [i, l] of b.lines.entries()) {
    if (i === 0) out = l.text;
    else out += (l.hard ? '\n' : ' ') + l.text;
  }
  return out;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_2 = /^ {0,3}-+[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const LIST_ITEM = /^[ \t]*([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const REF_DEF = /^ {0,3}\[[^\]]+\]:[ \t]*\S+.*$/;
const TABLE_SEPARATOR = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$/;
const BLOCKQUOTE = /^ {0,3}(?:>[ \t]?)+/;

/** Splits Markdown into headings and paragraphs of plain text. */
export function markdownBlocks(markdown: string): Block[] {
  const lines = normaliseNewlines(markdown).replace(/<!--[\s\S]*?(?:-->|$)/g, '').split('\n');
  const blocks: Block[] = [];
  let para: { text: string; hard: boolean }[] = [];
  let paraIsList = false;
  let fence: { char: string; length: number } | null = null;
  let code: string[] = [];

  const flush = () => {
    if (para.length > 0) blocks.push({ kind: 'para', lines: para });
    para = [];
    paraIsList = false;
  };

  for (const raw of lines) {
    if (fence) {
      const close = raw.match(FENCE);
      if (close && close[1][0] === fence.char && close[1].length >= fence.length && raw.trim() === close[1]) {
        if (code.length > 0) blocks.push({ kind: 'para', lines: code.map((text) => ({ text, hard: true })) });
        fence = null;
        code = [];
      } else if (raw.trim() !== '') {
        code.push(raw.replace(/\s+$/, ''));
      }
      continue;
    }

    const open = raw.match(FENCE);
    if (open) {
      flush();
      fence = { char: open[1][0], length: open[1].length };
      continue;
    }

    const line = raw.replace(BLOCKQUOTE, '');
    if (line.trim() === '') {
      flush();
      continue;
    }

    const atx = line.match(ATX);
    if (atx) {
      flush();
      const text = inlineText(atx[2] ?? '');
      if (text) blocks.push({ kind: 'heading', level: atx[1].length, text });
      continue;
    }

    const canBeSetext = para.length > 0 && !paraIsList && !para.some((l) => l.hard);
    if (canBeSetext && (SETEXT_1.test(line) || SETEXT_2.test(line))) {
      const text = collapseSpaces(para.map((l) => l.text).join(' '));
      para = [];
      flush();
      blocks.push({ kind: 'heading', level: SETEXT_1.test(line) ? 1 : 2, text });
      continue;
    }

    if (HR.test(line)) {
      flush();
      continue;
    }
    if (REF_DEF.test(line)) continue;
    if (line.includes('|') && TABLE_SEPARATOR.test(line)) continue;

    const item = line.match(LIST_ITEM);
    if (item) {
      const text = inlineText(item[2]);
      if (text) para.push({ text: `${item[1]} ${text}`, hard: true });
      paraIsList = true;
      continue;
    }

    if (/^[ \t]*\|/.test(line)) {
      const cells = line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => inlineText(c))
        .filter(Boolean);
      if (cells.length > 0) para.push({ text: cells.join(' | '), hard: true });
      continue;
    }

    const text = inlineText(line);
    if (!text) continue;
    if (paraIsList && para.length > 0) {
      // Lazy continuation of the last list item.
      para[para.length - 1].text += ` ${text}`;
    } else {
      para.push({ text, hard: false });
    }
  }
  if (fence && code.length > 0) blocks.push({ kind: 'para', lines: code.map((text) => ({ text, hard: true })) });
  flush();
  return blocks;
}

const PROTECT_BASE = 0xe000;
const PROTECTED = /[\ue000-\ue07f]/g;
const protect = (s: string) => s.replace(/[\\`*_{}[\]()#+\-.!|~<>]/g, (c) => String.fromCharCode(PROTECT_BASE + c.charCodeAt(0)));

/** Inline Markdown → plain text: links keep their text, images go, emphasis/code markers go. */
export function inlineText(s: string): string {
  let t = s
    // Backslash escapes and code spans are literal text: hide their characters from the rules below.
    .replace(/\\([\\`*_{}[\]()#+\-.!|~<>])/g, (_, c: string) => protect(c))
    .replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, _ticks: string, code: string) => protect(code.trim()))
    // Images (inline and reference), then links (inline, reference, autolinks).
    .replace(/!\[[^\]]*\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '')
    .replace(/!\[[^\]]*\]\[[^\]]*\]/g, '')
    .replace(/\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/gi, '$1')
    .replace(/<([^>\s@]+@[^>\s@]+\.[^>\s@]+)>/g, '$1')
    // Inline HTML tags.
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, '')
    // Emphasis: strong first (so ***x*** → *x* → x), then em, then strikethrough.
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '$1')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1$2')
    .replace(/\*(?=\S)([^*]*?\S)\*/g, '$1')
    .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1$2')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1');
  t = decodeEntities(t).replace(PROTECTED, (c) => String.fromCharCode(c.charCodeAt(0) - PROTECT_BASE));
  return collapseSpaces(t);
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  mdash: '—',
  ndash: '–',
  hellip: '…',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  copy: '©',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED_ENTITIES[e.toLowerCase()] ?? m;
  });
}
