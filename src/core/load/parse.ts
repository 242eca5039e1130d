/**
 * One file's bytes → RawArticle, on whichever thread calls it. `loadBuffer` (index.ts) runs this
 * on the parse worker (src/core/offload/) for PDFs and large files, so the main thread never parses
 * an upload; the limits below apply wherever it runs.
 */
import { datelineOf } from '../dates/time-query.js';
import type { RawArticle } from '../types.js';
import { LoadError } from './decode.js';
import { MAX_TITLE_CHARS } from './limits.js';

export { MAX_TITLE_CHARS } from './limits.js';
import { loadHtml } from './html.js';
import { loadMarkdown } from './markdown.js';
import { loadPdf } from './pdf.js';
import { loadText } from './text.js';

/** Extensions (lower case, with the dot) that `loadBuffer` understands. */
export const SUPPORTED_EXTENSIONS: readonly string[] = ['.md', '.markdown', '.txt', '.html', '.htm', '.pdf'];

const SUPPORTED_SUMMARY = '.md, .txt, .html, .pdf';

/** Bounds on reading one file. A file over any of them is refused with a LoadError that says which. */
export interface ParseLimits {
  /** Wall-clock time for reading one file, in ms (enforced by the parse worker). Default 30 s. */
  timeoutMs: number;
  /** Pages of a PDF. Default 1,000. */
  maxPages: number;
  /** Characters of extracted text (title and body). Default 10 million. */
  maxTextChars: number;
  /** Bytes a PDF's compressed streams may expand to, all together. Default 256 MB. */
  maxExpandedBytes: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { timeoutMs: 30_000, maxPages: 1000, maxTextChars: 10_000_000, maxExpandedBytes: 256 * 1024 * 1024 };

export interface LoadOptions {
  /** Source URL to record when the document itself does not name one. */
  url?: string;
  /** What `RawArticle.origin` should say (a path, "discord:<user>", a URL); defaults to `name`. */
  origin?: string;
  /** Charset declared by the server (HTML), tried when the bytes are not UTF-8. */
  charset?: string;
  /** Bounds on reading the file; unset fields take {@link DEFAULT_PARSE_LIMITS}. */
  limits?: Partial<ParseLimits>;
}

/** Cuts a title longer than {@link MAX_TITLE_CHARS} at a word boundary, adding "…" and a note that says so. */
export function capTitle(article: RawArticle): RawArticle {
  const length = article.title.length;
  if (length <= MAX_TITLE_CHARS) return article;
  const cut = article.title.slice(0, MAX_TITLE_CHARS - 1);
  const space = cut.lastIndexOf(' ');
  const title = `${(space > MAX_TITLE_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
  const note = `the title was ${length.toLocaleString('en-US')} characters long; it was cut to ${MAX_TITLE_CHARS}`;
  return { ...article, title, notes: [...(article.notes ?? []), note] };
}

/** Lower-cased extension with its dot ("" when there is none). */
export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

export function parseLimits(limits?: Partial<ParseLimits>): ParseLimits {
  return { ...DEFAULT_PARSE_LIMITS, ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Throws the LoadError for text longer than the limit. */
export function checkTextSize(origin: string, chars: number, limits: ParseLimits): void {
  if (chars > limits.maxTextChars) {
    throw new LoadError(
      origin,
      `its text is longer than the limit of ${limits.maxTextChars.toLocaleString('en-US')} characters (split it into several articles)`,
    );
  }
}

/**
 * Turns one file's bytes into an article, dispatching on the extension of `name`, in this thread.
 * Throws LoadError (with a human reason) for unsupported, empty, binary, unreadable or too large content.
 */
/** A plain-text article without a date in its metadata takes its first dateline's date. */
function withDateline(article: RawArticle): RawArticle {
  if (article.date) return article;
  const date = datelineOf(article.body);
  return date ? { ...article, date } : article;
}

export async function parseBuffer(name: string, bytes: Uint8Array, opts: LoadOptions = {}): Promise<RawArticle> {
  const origin = opts.origin ?? name;
  const ext = extensionOf(name);
  const limits = parseLimits(opts.limits);
  if (!SUPPORTED_EXTENSIONS.includes(ext)) {
    const what = ext ? `unsupported file type ${ext}` : 'unsupported file type (no extension)';
    throw new LoadError(name, `${what} (supported: ${SUPPORTED_SUMMARY})`);
  }
  if (bytes.length === 0) throw new LoadError(name, 'empty file');

  try {
    let article: RawArticle;
    switch (ext) {
      case '.md':
      case '.markdown':
        article = withDateline(loadMarkdown(bytes, origin, opts.url));
        break;
      case '.txt':
        article = withDateline(loadText(bytes, origin, opts.url));
        break;
      case '.html':
      case '.htm':
        article = loadHtml(bytes, origin, opts.url, opts.charset);
        break;
      default:
        article = await loadPdf(bytes, origin, opts.url, limits);
    }
    checkTextSize(origin, article.title.length + article.body.length, limits);
    return capTitle(article);
  } catch (err) {
    // Loaders name the origin; callers asked about `name`.
    if (err instanceof LoadError) throw err.file === name ? err : new LoadError(name, err.reason);
    throw new LoadError(name, `could not be read (${err instanceof Error ? err.message : String(err)})`);
  }
}
