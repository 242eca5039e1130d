/**
 * Bytes → text for the loaders, plus the small text helpers every loader shares
 * (paragraph joining, date normalisation, the LoadError they all throw).
 */
import { analyse } from 'chardet';
import iconv from 'iconv-lite';

/** A file (or upload) that cannot become an article; `reason` is meant for humans. */
export class LoadError extends Error {
  readonly file: string;
  readonly reason: string;

  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'LoadError';
    this.file = file;
    this.reason = reason;
  }
}

/** How many leading bytes/characters the binary sniffing looks at. */
const SNIFF_BYTES = 8192;
/** Share of control characters in the sniffed prefix above which content counts as binary. */
const MAX_CONTROL_SHARE = 0.05;

export interface DecodeOptions {
  /**
   * Encoding to try (before windows-1252) when the bytes are not valid UTF-8, e.g. the charset an
   * HTML page declares. Ignored when iconv-lite does not know it.
   */
  fallbackEncoding?: string;
}

/**
 * Decodes a text file: UTF-8 (BOM stripped), UTF-16 LE/BE when a BOM says so, and windows-1252
 * when the bytes are not valid UTF-8 (a stray Latin-1 "£" or "é" in an otherwise ASCII file).
 * Throws LoadError for binary content and for empty / whitespace-only content.
 */
export function decodeText(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): string {
  if (bytes.length === 0) throw new LoadError(name, 'empty file');

  let text: string;
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2), 'utf-16le');
  } else if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2), 'utf-16be');
  } else {
    const hasUtf8Bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const body = hasUtf8Bom ? bytes.subarray(3) : bytes;
    if (looksBinary(body)) throw new LoadError(name, 'binary content, not text');
    text = decodeUtf8OrFallback(body, opts.fallbackEncoding);
  }

  // A second BOM (or one iconv left in place) is never content.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (hasTooManyControls(text)) throw new LoadError(name, 'binary content, not text');
  if (text.trim() === '') throw new LoadError(name, text.length === 0 ? 'empty file' : 'empty file (only whitespace)');
  return text;
}

function decodeUtf8OrFallback(bytes: Uint8Array, fallbackEncoding?: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (fallbackEncoding && !/^utf-?8$/i.test(fallbackEncoding) && iconv.encodingExists(fallbackEncoding)) {
      return iconv.decode(buf, fallbackEncoding);
    }
    return iconv.decode(buf, detectEncoding(buf));
  }
}

/** Share of the sniffed bytes at or above 0x80 from which a legacy multi-byte encoding is worth detecting. */
const MULTIBYTE_SHARE = 0.1;

/**
 * The encoding of text that is not UTF-8 and declares none: chardet's best guess when the bytes
 * look like a legacy multi-byte encoding (Shift-JIS, GBK/GB18030, Big5, EUC-KR, EUC-JP) and it is
 * confident; windows-1252 otherwise (a stray Latin-1 "£" or "é" in an otherwise ASCII file, or
 * accented Western text, where single-byte guesses would only risk a worse reading).
 */
function detectEncoding(buf: Buffer): string {
  const sample = buf.subarray(0, 64 * 1024);
  let high = 0;
  for (const b of sample) if (b >= 0x80) high++;
  if (high / Math.max(1, sample.length) < MULTIBYTE_SHARE) return 'windows-1252';
  const best = analyse(sample).find((c) => c.confidence >= 50 && /^(shift_jis|gb18030|gbk|gb2312|big5|euc-kr|euc-jp|iso-2022-jp)$/i.test(c.name));
  if (!best || !iconv.encodingExists(best.name)) return 'windows-1252';
  return best.name;
}

/** NUL bytes anywhere, or a high share of control bytes in the first few KB. */
function looksBinary(bytes: Uint8Array): boolean {
  if (bytes.indexOf(0) !== -1) return true;
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let controls = 0;
  for (let i = 0; i < n; i++) if (isControl(bytes[i])) controls++;
  return n > 0 && controls / n > MAX_CONTROL_SHARE;
}

function hasTooManyControls(text: string): boolean {
  if (text.includes('\0')) return true;
  const n = Math.min(text.length, SNIFF_BYTES);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isControl(c) || (c >= 0x80 && c <= 0x9f)) controls++;
  }
  return n > 0 && controls / n > MAX_CONTROL_SHARE;
}

/** C0 controls other than tab, LF, VT, FF, CR; plus DEL. */
function isControl(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0b && c !== 0x0c && c !== 0x0d) || c === 0x7f;
}

/** CRLF / CR → LF. */
export function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Collapses runs of whitespace (including NBSP and line breaks) to one space and trims. */
export function collapseSpaces(text: string): string {
  return text.replace(/[\s\u00a0]+/g, ' ').trim();
}

/**
 * Joins paragraphs into a body: each paragraph trimmed, empty ones dropped, no blank line left
 * inside a paragraph, paragraphs separated by exactly one blank line.
 */
export function joinParagraphs(paragraphs: Iterable<string>): string {
  const out: string[] = [];
  for (const p of paragraphs) {
    const lines = normaliseNewlines(p)
      .split('\n')
      .map((l) => l.replace(/[ \t\u00a0]+$/g, ''))
      .filter((l) => l.trim() !== '');
    if (lines.length > 0) out.push(lines.join('\n').trim());
  }
  return out.join('\n\n');
}

/**
 * Splits plain text into paragraphs at blank lines; lines inside a paragraph are joined by a space.
 * Text without any blank line but with several lines is read as one paragraph per line (the common
 * "one paragraph per line" export).
 */
export function plainTextParagraphs(text: string): string[] {
  const normalised = normaliseNewlines(text).replace(/\f/g, '\n\n');
  const blocks = normalised.split(/\n[ \t\u00a0]*\n/);
  if (blocks.length === 1) {
    return normalised.split('\n').map(collapseSpaces).filter(Boolean);
  }
  return blocks
    .map((b) =>
      b
        .split('\n')
        .map((l) => collapseSpaces(l))
        .filter(Boolean)
        .join(' '),
    )
    .filter(Boolean);
}

/**
 * Normalises a date from metadata: Date objects → yyyy-mm-dd (UTC); strings that already look like
 * ISO 8601 are kept as written; other parseable strings → yyyy-mm-dd; anything else → undefined.
 */
export function normaliseDate(value: unknown): string | undefined {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? undefined : value.toISOString().slice(0, 10);
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1000 && value <= 9999) {
    return String(value);
  }
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (s === '') return undefined;
  if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return s;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  const d = new Date(t);
  // Date-only strings such as "March 3, 2024" parse as local midnight: read them back locally.
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** File name without directories and without its last extension: "notes/My Post.md" → "My Post". */
export function titleFromFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return collapseSpaces(stem) || base || 'Untitled';
}
