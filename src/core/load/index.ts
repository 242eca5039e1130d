/**
 * Files and uploads → RawArticle. `loadBuffer` handles one file (an upload, a fetched page);
 * `loadDirectory` walks a folder and reports what it could not load instead of stopping.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseInWorker } from '../offload/thread.js';
import type { RawArticle } from '../types.js';
import { LoadError } from './decode.js';
import { extensionOf, parseBuffer, SUPPORTED_EXTENSIONS, type LoadOptions } from './parse.js';

export { LoadError, decodeText } from './decode.js';
export { htmlToArticle } from './html.js';
export { markdownToArticle } from './markdown.js';
export { textToArticle } from './text.js';
export { loadPdf } from './pdf.js';
export { DEFAULT_PARSE_LIMITS, MAX_TITLE_CHARS, parseBuffer, SUPPORTED_EXTENSIONS, type LoadOptions, type ParseLimits } from './parse.js';

export interface SkippedFile {
  file: string;
  reason: string;
}

/** Files up to this size in a simple format (.md, .txt) are read on the calling thread; others go to the parse worker. */
const INLINE_BYTES = 64 * 1024;

export function isSupportedFile(name: string): boolean {
  return SUPPORTED_EXTENSIONS.includes(extensionOf(name));
}

/**
 * Turns one file's bytes into an article, dispatching on the extension of `name`. PDFs, HTML and
 * anything larger than 64 KB are parsed on the parse worker, under a time limit (the worker is
 * replaced when it runs over), a memory limit, and page and text-size limits (`opts.limits`).
 * Throws LoadError (with a human reason) for unsupported, empty, binary, unreadable or too large content.
 */
export async function loadBuffer(name: string, bytes: Uint8Array, opts: LoadOptions = {}): Promise<RawArticle> {
  const ext = extensionOf(name);
  const simple = ext === '.md' || ext === '.markdown' || ext === '.txt';
  if (!SUPPORTED_EXTENSIONS.includes(ext) || bytes.length === 0 || (simple && bytes.length <= INLINE_BYTES)) return parseBuffer(name, bytes, opts);
  return parseInWorker(name, bytes, opts);
}

/** A text without a date in its metadata takes the one its first dateline states, if any. */

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
