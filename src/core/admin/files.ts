/**
 * The knowledge folder as the on-disk mirror of the catalog: articles added from Discord are
 * written there as Markdown, replaced or removed ones are moved to `knowledge/.trash/` (hidden
 * folders are not ingested), so `npm run ingest` over the folder and the bot agree.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { normalizeWhitespace, originId, slugify } from '../chunk.js';
import { loadBuffer } from '../load/index.js';

export const TRASH_DIR = '.trash';

/** `rel` resolved inside `root`, or undefined when it is absolute, escapes it, or is hidden. */
export function insideDir(root: string, rel: string): string | undefined {
  if (!rel || path.isAbsolute(rel) || /^[a-z][a-z0-9+.-]*:/i.test(rel)) return undefined;
  const abs = path.resolve(root, rel);
  const relative = path.relative(root, abs);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  if (relative.split(path.sep).some((part) => part.startsWith('.'))) return undefined;
  return abs;
}

/** Relative (forward-slash) path of the file an article of this id loads from, if it is in `root`. */
export async function fileHoldsArticle(root: string, rel: string, id: string): Promise<boolean> {
  const abs = insideDir(root, rel);
  if (!abs || !existsSync(abs)) return false;
  try {
    const article = await loadBuffer(rel, readFileSync(abs), { origin: rel });
    // Its title's id, or the id ingest gives it when that one belongs to another file (never a mere prefix).
    const slug = slugify(normalizeWhitespace(article.title));
    return slug === id || originId(slug, rel) === id;
  } catch {
    return false;
  }
}

/** Writes `content` to `abs` atomically (temporary file + rename), creating folders. */
export function writeFileAtomic(abs: string, content: string): void {
  mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, abs);
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { force: true });
  }
}

/** The first of `<base>.md`, `<base>-2.md`, ... in `root` that does not exist or is `ours` to overwrite (relative name). */
export function freeName(root: string, base: string, ours: (rel: string) => boolean = () => false): string {
  for (let n = 1; ; n++) {
    const rel = n === 1 ? `${base}.md` : `${base}-${n}.md`;
    if (!existsSync(path.join(root, rel)) || ours(rel)) return rel;
  }
}

export interface TrashedFile {
  from: string;
  to: string;
}

/** Moves files (absolute paths inside `root`) to `root/.trash/`, returning how to put them back. */
export function moveToTrash(root: string, files: string[]): TrashedFile[] {
  const moved: TrashedFile[] = [];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const from of files) {
    const to = path.join(root, TRASH_DIR, `${stamp}-${path.relative(root, from).replace(/[\\/]/g, '__')}`);
    mkdirSync(path.dirname(to), { recursive: true });
    renameSync(from, to);
    moved.push({ from, to });
  }
  return moved;
}

export function restoreFromTrash(moved: TrashedFile[]): void {
  for (const m of [...moved].reverse()) {
    try {
      mkdirSync(path.dirname(m.from), { recursive: true });
      renameSync(m.to, m.from);
    } catch {
      // best effort: the file stays in .trash
    }
  }
}
