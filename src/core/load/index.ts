/**
 * Files and uploads → RawArticle. `loadBuffer` handles one file (an upload, a fetched page);
 * `loadDirectory` walks a folder and reports what it could not load instead of stopping.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { datelineOf } from '../dates/time-query.js';
import type { RawArticle } from '../types.js';
import { LoadError } from './decode.js';
import { loadHtml } from './html.js';
import { loadMarkdown } from './markdown.js';
import { loadPdf } from './pdf.js';
import { loadText } from './text.js';

export { LoadError, decodeText } from './decode.js';
export { htmlToArticle } from './html.js';
export { markdownToArticle } from './markdown.js';
export { textToArticle } from './text.js';
export { loadPdf } from './pdf.js';

/** Extensions (lower case, with the dot) that `loadBuffer` understands. */
export const SUPPORTED_EXTENSIONS: readonly string[] = ['.md', '.markdown', '.txt', '.html', '.htm', '.pdf'];

const SUPPORTED_SUMMARY = '.md, .txt, .html, .pdf';

export interface LoadOptions {
  /** Source URL to record when the document itself does not name one. */
  url?: string;
  /** What `RawArticle.origin` should say (a path, "discord:<user>", a URL); defaults to `name`. */
  origin?: string;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

/** Lower-cased extension with its dot ("" when there is none). */
function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

export function isSupportedFile(name: string): boolean {
  return SUPPORTED_EXTENSIONS.includes(extensionOf(name));
}

/**
 * Turns one file's bytes into an article, dispatching on the extension of `name`.
 * Throws LoadError (with a human reason) for unsupported, empty, binary or unreadable content.
 */
export async function loadBuffer(name: string, bytes: Uint8Array, opts: LoadOptions = {}): Promise<RawArticle> {
  const origin = opts.origin ?? name;
  const ext = extensionOf(name);
  if (!SUPPORTED_EXTENSIONS.includes(ext)) {
    const what = ext ? `unsupported file type ${ext}` : 'unsupported file type (no extension)';
    throw new LoadError(name, `${what} (supported: ${SUPPORTED_SUMMARY})`);
  }
  if (bytes.length === 0) throw new LoadError(name, 'empty file');

  try {
    switch (ext) {
      case '.md':
      case '.markdown':
        return withDateline(loadMarkdown(bytes, origin, opts.url));
      case '.txt':
        return withDateline(loadText(bytes, origin, opts.url));
      case '.html':
      case '.htm':
        return loadHtml(bytes, origin, opts.url);
      default:
        return await loadPdf(bytes, origin, opts.url);
    }
  } catch (err) {
    // Loaders name the origin; callers asked about `name`.
    if (err instanceof LoadError) throw err.file === name ? err : new LoadError(name, err.reason);
    throw new LoadError(name, `could not be read (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** A text without a date in its metadata takes the one its first dateline states, if any. */
function withDateline(article: RawArticle): RawArticle {
  if (article.date) return article;
  const date = datelineOf(article.body);
  return date ? { ...article, date } : article;
}

/**
 * Loads every supported file under `dir` (recursively, hidden files and folders skipped) in a
 * deterministic order. Files that cannot be loaded are reported in `skipped` by their path relative
 * to `dir`; the others still load. `origin` is that relative path (with forward slashes).
 */
export async function loadDirectory(dir: string): Promise<{ articles: RawArticle[]; skipped: SkippedFile[] }> {
  const articles: RawArticle[] = [];
  const skipped: SkippedFile[] = [];
  const files = await listFiles(dir, skipped);

  for (const rel of files) {
    if (!isSupportedFile(rel)) {
      skipped.push({ file: rel, reason: 'unsupported type' });
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path.join(dir, rel));
    } catch (err) {
      skipped.push({ file: rel, reason: `could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
      continue;
    }
    try {
      articles.push(await loadBuffer(rel, bytes, { origin: rel }));
    } catch (err) {
      skipped.push({
        file: rel,
        reason: err instanceof LoadError ? err.reason : `could not be read (${err instanceof Error ? err.message : String(err)})`,
      });
    }
  }
  return { articles, skipped };
}

/** Relative paths (forward slashes) of the non-hidden files under `dir`, sorted, symlink loops avoided. */
async function listFiles(dir: string, skipped: SkippedFile[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

  const visit = async (rel: string): Promise<void> => {
    const abs = rel ? path.join(dir, rel) : dir;
    const real = await realpath(abs);
    if (seen.has(real)) return;
    seen.add(real);

    const entries = await readdir(abs, { withFileTypes: true });
    const names = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => byName(a.name, b.name));
    for (const entry of names) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const s = await stat(path.join(dir, childRel));
          isDir = s.isDirectory();
          isFile = s.isFile();
        } catch {
          skipped.push({ file: childRel, reason: 'broken symbolic link' });
          continue;
        }
      }
      if (isDir) {
        try {
          await visit(childRel);
        } catch (err) {
          skipped.push({ file: childRel, reason: `folder could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
        }
      } else if (isFile) {
        out.push(childRel);
      }
    }
  };

  await visit('');
  return out;
}
