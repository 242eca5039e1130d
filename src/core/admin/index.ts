/**
 * Moderating the knowledge base: add (file, URL, typed text), replace with confirmation, remove,
 * list, show, reindex, stats, audit. No Discord here: the `/kb` command is a thin adapter over
 * this, and it is tested directly.
 *
 * Every change goes through `KnowledgeBase.ingest` / `remove` / `reindex` — the same code path as
 * `npm run ingest` — so chunking, incremental re-embedding, the catalog transaction, the index
 * mirror and the audit row are the same whoever makes the change.
 *
 * With a knowledge folder (`knowledgeDir`, `syncFiles`), the folder is kept in step: an added
 * article is written there as `<id>.md` (front matter + text, read back to the same content hash,
 * so `npm run ingest` finds it unchanged), a replaced or removed article's file is moved to
 * `knowledge/.trash/`. The folder is changed first and the catalog second, and the folder change
 * is undone when the catalog change fails, so a crash in between leaves the folder ahead and the
 * next `npm run ingest` converges on it.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { normalizeWhitespace, slugify, splitParagraphs } from '../chunk.js';
import { chunkArticles } from '../offload/thread.js';
import {
  ReindexRunningError,
  UserInputError,
  type KnowledgeBase,
  type KnowledgeBaseStats,
  type ReindexMarkerTiming,
  type ReindexProgress,
  type ReindexReport,
  type RunningReindex,
} from '../knowledge-base.js';
import { fetchArticle, type FetchOptions } from '../load/fetch-url.js';
import { isSupportedFile, LoadError, loadBuffer, MAX_TITLE_CHARS, type ParseLimits } from '../load/index.js';
import type { Actor, AuditEntry } from '../store/audit.js';
import type { ArticleRecord } from '../store/catalog.js';
import type { RawArticle } from '../types.js';
import { downloadLimited, DownloadError, formatBytes } from './download.js';
import { fileHoldsArticle, freeName, insideDir, moveToTrash, restoreFromTrash, writeFileAtomic, type TrashedFile } from './files.js';
import { articleToMarkdown } from './markdown.js';

export { ReindexRunningError, type RunningReindex };
export { articleToMarkdown, escapeMarkdownText } from './markdown.js';
export { formatBytes } from './download.js';
export type { Actor, AuditEntry } from '../store/audit.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
/** Longest title accepted from the modal (the loaders cut longer titles to the same length). */
export { MAX_TITLE_CHARS };

export interface AdminOptions {
  kb: KnowledgeBase;
  /** The knowledge folder (`KNOWLEDGE_DIR`). */
  knowledgeDir?: string;
  /** Mirror changes into `knowledgeDir` (default true when it is given). */
  syncFiles?: boolean;
  /** Largest accepted upload, in bytes (declared size and actual bytes). Default 5 MB. */
  maxUploadBytes?: number;
  /** Options of `fetchArticle` for `/kb add url:` (time-out, size, redirects; the SSRF checks are always on unless a test relaxes them). */
  fetch?: FetchOptions;
  /** Time limit for downloading an upload. Default 15 s. */
  downloadTimeoutMs?: number;
  /** Limits on reading an upload or a fetched page (time, pages, text size, expansion); see ParseLimits. */
  parse?: Partial<ParseLimits>;
  /** How long a pending confirmation (replace, remove) stays valid. Default 15 minutes. */
  confirmationTtlMs?: number;
  /**
   * Caps for this knowledge base (a server's own, `KB_MAX_ARTICLES_PER_SERVER` /
   * `KB_MAX_PASSAGES_PER_SERVER`); an add that would go past one is refused and changes nothing.
   * Default: none.
   */
  limits?: { maxArticles?: number; maxPassages?: number };
  /** Total size of what pending confirmations hold (an upload each); over it, the oldest expire. Default 4 × maxUploadBytes. */
  maxPendingBytes?: number;
  /** Timing of the reindex marker this admin's reindexes hold (see {@link ReindexMarkerTiming}). */
  reindexMarker?: ReindexMarkerTiming;
  now?: () => number;
  log?: (message: string) => void;
}

/** An uploaded file as the adapter knows it before downloading (Discord: the attachment object). */
export interface UploadInfo {
  name: string;
  /** Declared size in bytes. */
  size: number;
  url: string;
  contentType?: string | null;
}

export interface AddPreview {
  id: string;
  title: string;
  url?: string;
  paragraphs: number;
  passages: number;
  duplicatesDropped: number;
  /** Stored articles the new one replaces: the same title (same id) and/or the same URL. */
  replaces: ArticleRecord[];
  /** The stored article with this id has exactly this content: nothing to do. */
  unchanged: boolean;
  /** What the loader changed that the moderator should know (a title that was cut). */
  notes: string[];
}

export interface AddResult {
  status: 'added' | 'replaced' | 'unchanged';
  id: string;
  title: string;
  url?: string;
  paragraphs: number;
  passages: number;
  duplicatesDropped: number;
  /** Passages embedded (unchanged paragraphs of a replaced article re-use their vectors). */
  embedded: number;
  seconds: number;
  replaced: { id: string; title: string }[];
  /** The knowledge-folder file written (relative), when syncing. */
  file?: string;
  audit: AuditEntry[];
  /** What the loader changed that the moderator should know (a title that was cut). */
  notes: string[];
}

export type AddOutcome = { status: 'needs-confirmation'; preview: AddPreview } | AddResult;

export interface ArticlePage {
  items: ArticleRecord[];
  /** 1-based. */
  page: number;
  pages: number;
  total: number;
  pageSize: number;
}

export interface ArticleDetails {
  article: ArticleRecord;
  /** The first paragraphs, in order. */
  paragraphs: { n: number; text: string }[];
  /** Where the article lives in the knowledge folder, when it does. */
  file?: string;
}

export type StageResult<T> = { ok: true; data: T } | { ok: false; reason: 'expired' | 'not-yours' };

/**
 * What a confirmation covers: the ids and content hashes of the articles that would be replaced.
 * `add(..., { replace: true, confirmed })` replaces only while this is still what it would replace.
 */
export function replacementKey(articles: { id: string; hash: string }[]): string {
  return articles.map((a) => `${a.id}@${a.hash}`).sort().join(',');
}

/** Turns loader and download failures into messages a moderator can act on. */
function uploadError(name: string, error: unknown): never {
  if (error instanceof LoadError) throw new UserInputError(`Could not add ${name}: ${error.reason}. Nothing was changed.`);
  if (error instanceof DownloadError) throw new UserInputError(`Could not add ${name}: ${error.message}. Nothing was changed.`);
  throw error;
}

export class KnowledgeAdmin {
  readonly kb: KnowledgeBase;
  readonly maxUploadBytes: number;
  private readonly knowledgeDir?: string;
  private readonly sync: boolean;
  private readonly now: () => number;
  /** Per-article locks (`id:<id>`, `url:<url>`): the tail of each key's queue. */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly opts: AdminOptions) {
    this.kb = opts.kb;
    this.maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.knowledgeDir = opts.knowledgeDir ? path.resolve(opts.knowledgeDir) : undefined;
    this.sync = Boolean(this.knowledgeDir) && (opts.syncFiles ?? true);
    this.now = opts.now ?? Date.now;
  }

  /** Where changes are mirrored, or undefined when the folder is not kept in step. */
  get syncDir(): string | undefined {
    return this.sync ? this.knowledgeDir : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Loading (nothing is changed; every failure is a UserInputError with a clear message)
  // -------------------------------------------------------------------------------------------

  /** Checks an upload from what is declared (name, size) before anything is downloaded. */
  checkUpload(upload: Pick<UploadInfo, 'name' | 'size'>): void {
    const name = `"${upload.name}"`;
    if (!isSupportedFile(upload.name)) {
      const dot = upload.name.lastIndexOf('.');
      const ext = dot > 0 ? upload.name.slice(dot).toLowerCase() : '';
      throw new UserInputError(
        `Could not add ${name}: ${ext ? `${ext} files are not supported` : 'files without an extension are not supported'} (use .md, .txt, .html or .pdf). Nothing was changed.`,
      );
    }
    if (upload.size > this.maxUploadBytes) {
      throw new UserInputError(
        `Could not add ${name}: it is ${formatBytes(upload.size)}, larger than the limit of ${formatBytes(this.maxUploadBytes)}. Nothing was changed.`,
      );
    }
    if (upload.size === 0) throw new UserInputError(`Could not add ${name}: the file is empty. Nothing was changed.`);
  }

  /** Downloads (at most `maxUploadBytes`) and loads an uploaded file. */
  async loadUpload(upload: UploadInfo, origin = upload.name): Promise<RawArticle> {
    this.checkUpload(upload);
    try {
      const bytes = await downloadLimited(upload.url, { maxBytes: this.maxUploadBytes, timeoutMs: this.opts.downloadTimeoutMs });
      return await loadBuffer(upload.name, bytes, { origin, limits: this.opts.parse });
    } catch (error) {
      uploadError(`"${upload.name}"`, error);
    }
  }

  /** Fetches a web page (http/https only, public addresses only, time and size limits) and loads its main text. */
  async loadUrl(url: string): Promise<RawArticle> {
    try {
      return await fetchArticle(url.trim(), { maxBytes: this.maxUploadBytes, parse: this.opts.parse, ...this.opts.fetch });
    } catch (error) {
      uploadError(url.trim().slice(0, 200), error);
    }
  }

  /** An article typed into the modal. */
  fromText(title: string, text: string, origin = 'typed'): RawArticle {
    const t = (title ?? '').replace(/\s+/g, ' ').trim();
    if (!t) throw new UserInputError('Please give the article a title. Nothing was changed.');
    if (t.length > MAX_TITLE_CHARS) throw new UserInputError(`The title is ${t.length} characters long; please keep it under ${MAX_TITLE_CHARS}. Nothing was changed.`);
    const body = splitParagraphs(text ?? '').join('\n\n');
    if (!body) throw new UserInputError('The article text is empty. Nothing was changed.');
    return { title: t, body, origin };
  }

  // -------------------------------------------------------------------------------------------
  // Changes
  // -------------------------------------------------------------------------------------------

  /** What adding `raw` would do, without changing anything (chunked off the main thread). */
  async preview(raw: RawArticle): Promise<AddPreview> {
    const [chunked] = await chunkArticles([raw]);
    const replaces: ArticleRecord[] = [];
    const byId = await this.kb.getArticle(chunked.id);
    if (byId) replaces.push(byId);
    const byUrl = raw.url ? await this.kb.tenant.findArticleByUrl(raw.url) : undefined;
    if (byUrl && byUrl.id !== chunked.id) replaces.push(byUrl);
    return {
      id: chunked.id,
      title: chunked.title,
      url: chunked.url,
      paragraphs: chunked.passages.length === 0 ? 0 : chunked.passages[chunked.passages.length - 1].paragraph,
      passages: chunked.passages.length,
      duplicatesDropped: chunked.duplicatesDropped,
      replaces,
      unchanged: replaces.length === 1 && byId !== undefined && byId.hash === chunked.hash,
      notes: raw.notes ?? [],
    };
  }

  /**
   * Runs `work` holding the locks of `keys` (taken in sorted order, so two callers never wait on
   * each other). Changes to one article, from any member, run one after another.
   */
  private async locked<T>(keys: string[], work: () => Promise<T>): Promise<T> {
    const releases: (() => void)[] = [];
    try {
      for (const key of [...new Set(keys)].sort()) releases.push(await this.acquire(key));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private acquire(key: string): Promise<() => void> {
    const before = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => held);
    this.locks.set(key, tail);
    return before.then(() => () => {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
  }

  private static lockKeys(article: { id?: string; title?: string; url?: string }): string[] {
    const keys: string[] = [];
    if (article.id) keys.push(`id:${article.id}`);
    if (article.title !== undefined) keys.push(`id:${slugify(normalizeWhitespace(article.title))}`);
    if (article.url) keys.push(`url:${article.url}`);
    return keys;
  }

  /**
   * Adds an article. When it would replace stored articles (same title or same URL) and `replace`
   * is not set, nothing changes and the preview comes back for a confirmation. With `confirmed`
   * (the {@link replacementKey} of the preview the moderator confirmed), it replaces only while
   * that is still what it would replace, and asks again otherwise.
   *
   * The decision (preview, replace or ask) and the writes (knowledge folder, catalog) happen
   * under the article's lock (its id and URL), so two overlapping adds of the same title never
   * both skip the confirmation, and a remove never runs between the decision and the write.
   */
  add(raw: RawArticle, actor: Actor, options: { replace?: boolean; confirmed?: string } = {}): Promise<AddOutcome> {
    return this.locked(KnowledgeAdmin.lockKeys(raw), () => this.addLocked(raw, actor, options));
  }

  private async addLocked(raw: RawArticle, actor: Actor, options: { replace?: boolean; confirmed?: string }): Promise<AddOutcome> {
    if (this.kb.needsReindex) {
      throw new UserInputError(
        `The index was built with ${this.kb.indexModel?.model} but the embedding model now is ${this.kb.embedderInfo.model}: run \`/kb reindex\` first, then add articles. Nothing was changed.`,
      );
    }
    const preview = await this.preview(raw);
    if (preview.passages === 0) throw new UserInputError(`"${preview.title}" has no text to index. Nothing was changed.`);
    await this.checkLimits(preview);
    if (preview.unchanged) {
      const stored = preview.replaces[0];
      return {
        status: 'unchanged',
        id: stored.id,
        title: stored.title,
        url: stored.url,
        paragraphs: stored.paragraphs,
        passages: stored.passages,
        duplicatesDropped: stored.duplicatesDropped,
        embedded: 0,
        seconds: 0,
        replaced: [],
        audit: [],
        notes: preview.notes,
      };
    }
    if (preview.replaces.length > 0 && !options.replace) return { status: 'needs-confirmation', preview };
    if (preview.replaces.length > 0 && options.confirmed !== undefined && options.confirmed !== replacementKey(preview.replaces)) {
      return { status: 'needs-confirmation', preview };
    }

    let article = raw;
    let file: string | undefined;
    let trashed: TrashedFile[] = [];
    let written: string | undefined;
    if (this.sync && this.knowledgeDir) {
      // 1. The folder: old files out of the way, the new file in.
      const root = this.knowledgeDir;
      const oldFiles = await this.filesOf(preview.replaces);
      const own = new Set(oldFiles.map((f) => path.relative(root, f).split(path.sep).join('/')));
      file = freeName(root, preview.id, (rel) => own.has(rel));
      trashed = moveToTrash(root, oldFiles);
      written = path.join(root, file);
      try {
        writeFileAtomic(
          written,
          articleToMarkdown({
            title: raw.title,
            body: raw.body,
            url: raw.url,
            date: raw.date,
            author: raw.author,
            meta: { added_by: actor.name ?? actor.id, added_from: raw.origin },
          }),
        );
      } catch (error) {
        restoreFromTrash(trashed);
        throw error;
      }
      article = { ...raw, origin: file };
    }
    // 2. The catalog (and indexes, and audit), in one serialised write.
    try {
      const report = await this.kb.ingest([article], {
        addedBy: actor.name ?? actor.id,
        actor,
        remove: preview.replaces.map((a) => a.id).filter((id) => id !== preview.id),
        // Confirmed (or nothing to replace): the stored article of this id is replaced whatever its origin.
        replace: [preview.id],
      });
      const stored = await this.kb.getArticle(preview.id);
      return {
        status: preview.replaces.length > 0 ? 'replaced' : 'added',
        id: preview.id,
        title: preview.title,
        url: preview.url,
        paragraphs: stored?.paragraphs ?? preview.paragraphs,
        passages: stored?.passages ?? preview.passages,
        duplicatesDropped: report.duplicatesDropped,
        embedded: report.embedded,
        seconds: report.seconds,
        replaced: preview.replaces.map((a) => ({ id: a.id, title: a.title })),
        file,
        audit: report.audit,
        notes: preview.notes,
      };
    } catch (error) {
      if (written && existsSync(written)) rmSync(written, { force: true });
      restoreFromTrash(trashed);
      throw error;
    }
  }

  /** Refuses an add that would take the knowledge base past its article or passage cap. */
  private async checkLimits(preview: AddPreview): Promise<void> {
    const { maxArticles, maxPassages } = this.opts.limits ?? {};
    if (maxArticles === undefined && maxPassages === undefined) return;
    const stats = await this.kb.tenant.state();
    const articles = stats.articles - preview.replaces.length + 1;
    const passages = stats.passages - preview.replaces.reduce((n, a) => n + a.passages, 0) + preview.passages;
    if (maxArticles !== undefined && articles > maxArticles) {
      throw new UserInputError(
        `This server's knowledge base already holds ${stats.articles} articles, the most it may hold is ${maxArticles}. Remove an article (\`/kb remove\`) first. Nothing was changed.`,
      );
    }
    if (maxPassages !== undefined && passages > maxPassages) {
      throw new UserInputError(
        `"${preview.title}" has ${preview.passages} passages; with it this server's knowledge base would hold ${passages}, more than its limit of ${maxPassages}. Remove articles first, or add a shorter one. Nothing was changed.`,
      );
    }
  }

  /** Removes an article (and moves its knowledge-folder file to `.trash/`), under the article's lock. */
  async remove(id: string, actor: Actor): Promise<{ removed: ArticleRecord; files: string[]; audit: AuditEntry[] }> {
    const url = (await this.kb.getArticle(id))?.url;
    return this.locked(KnowledgeAdmin.lockKeys({ id, url }), () => this.removeLocked(id, actor));
  }

  private async removeLocked(id: string, actor: Actor): Promise<{ removed: ArticleRecord; files: string[]; audit: AuditEntry[] }> {
    const record = await this.kb.getArticle(id);
    if (!record) throw new UserInputError(`There is no article with the id "${id}" (any more). Nothing was changed.`);
    let trashed: TrashedFile[] = [];
    if (this.sync && this.knowledgeDir) trashed = moveToTrash(this.knowledgeDir, await this.filesOf([record]));
    const audit: AuditEntry[] = [];
    const off = this.kb.onChange((e) => {
      if (e.kind === 'remove') audit.push(...e.audit);
    });
    try {
      const { removed } = await this.kb.remove([id], { actor });
      if (removed === 0) throw new UserInputError(`There is no article with the id "${id}" (any more). Nothing was changed.`);
    } catch (error) {
      restoreFromTrash(trashed);
      throw error;
    } finally {
      off();
    }
    const root = this.knowledgeDir ?? '';
    return { removed: record, files: trashed.map((t) => path.relative(root, t.from).split(path.sep).join('/')), audit };
  }

  /** The reindex in progress on this knowledge base, in any process sharing the store, if any. */
  async reindexing(): Promise<RunningReindex | undefined> {
    const marker = await this.kb.tenant.reindexMarker.current(this.now());
    return marker && { actor: marker.actor, since: marker.since };
  }

  /**
   * Re-embeds every stored article with the configured model; the old index answers until the swap.
   * One at a time per knowledge base across processes (`npm run ingest`'s reindex included): a
   * second one is refused with {@link ReindexRunningError} rather than queued behind the first.
   */
  async reindex(actor: Actor, onProgress?: (p: ReindexProgress) => void): Promise<ReindexReport> {
    return this.kb.reindex({ actor, onProgress, marker: this.opts.reindexMarker, now: this.now });
  }

  /** Absolute paths of the knowledge-folder files that hold these articles (origin, or `<id>.md`). */
  private async filesOf(articles: ArticleRecord[]): Promise<string[]> {
    const root = this.knowledgeDir;
    if (!root) return [];
    const out = new Set<string>();
    for (const a of articles) {
      for (const rel of new Set([a.origin, `${a.id}.md`])) {
        const abs = insideDir(root, rel);
        if (abs && !out.has(abs) && (await fileHoldsArticle(root, rel, a.id))) out.add(abs);
      }
    }
    return [...out];
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  async list(page = 1, pageSize = 10): Promise<ArticlePage> {
    const all = await this.kb.listArticles();
    const pages = Math.max(1, Math.ceil(all.length / pageSize));
    const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
    return { items: all.slice((p - 1) * pageSize, p * pageSize), page: p, pages, total: all.length, pageSize };
  }

  async show(id: string, paragraphs = 3): Promise<ArticleDetails | undefined> {
    const article = await this.kb.getArticle(id);
    if (!article) return undefined;
    const out: { n: number; text: string }[] = [];
    for (const p of await this.kb.articlePassages(id)) {
      const last = out[out.length - 1];
      if (last && last.n === p.paragraph) last.text += ` ${p.text}`;
      else if (out.length < paragraphs) out.push({ n: p.paragraph, text: p.text });
      else break;
    }
    const file = this.knowledgeDir && insideDir(this.knowledgeDir, article.origin) && existsSync(path.join(this.knowledgeDir, article.origin)) ? article.origin : undefined;
    return { article, paragraphs: out, ...(file ? { file } : {}) };
  }

  /** Titles for autocomplete (from memory). */
  suggest(query: string, limit = 25): { id: string; title: string }[] {
    return this.kb.suggest(query, limit);
  }

  async stats(): Promise<KnowledgeBaseStats & { lastAudit?: AuditEntry }> {
    const [[lastAudit], stats] = await Promise.all([this.kb.auditTrail({ limit: 1 }), this.kb.stats()]);
    return { ...stats, ...(lastAudit ? { lastAudit } : {}) };
  }

  /** Calls `listener` with the audit rows of every change this process makes. Returns an unsubscribe function. */
  onAudit(listener: (entries: AuditEntry[]) => void): () => void {
    return this.kb.onChange((event) => {
      if (event.audit.length > 0) listener(event.audit);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Confirmations (replace, remove): a token bound to the member who asked, valid for a while
  // -------------------------------------------------------------------------------------------

  /**
   * Stages an action for a confirmation and returns its token. Pending confirmations are kept in
   * the store, so a button still works after a restart and on any process. What they hold is
   * capped in total (`maxPendingBytes`): the oldest ones expire early to make room.
   */
  async stage(userId: string, data: unknown): Promise<string> {
    const cap = this.opts.maxPendingBytes ?? 4 * this.maxUploadBytes;
    const before = await this.kb.tenant.confirmations.pending(this.now());
    const token = await this.kb.tenant.confirmations.stage(userId, data, this.opts.confirmationTtlMs ?? 15 * 60_000, this.now(), cap);
    const after = await this.kb.tenant.confirmations.pending(this.now());
    if (after <= before) this.opts.log?.(`a pending confirmation expired early: pending confirmations may hold ${formatBytes(cap)} in all`);
    return token;
  }

  /** Takes a staged action (once). Someone else's token is refused and left in place. */
  async take<T>(token: string, userId: string): Promise<StageResult<T>> {
    const taken = await this.kb.tenant.confirmations.take(token, userId, this.now());
    return taken.ok ? { ok: true, data: taken.data as T } : taken;
  }

  /** Confirmations still waiting for their button (expired ones are dropped first). */
  pendingConfirmations(): Promise<number> {
    return this.kb.tenant.confirmations.pending(this.now());
  }

  /** Drops a staged action (Cancel). */
  cancel(token: string, userId: string): Promise<boolean> {
    return this.kb.tenant.confirmations.cancel(token, userId);
  }

  // -------------------------------------------------------------------------------------------
  // Export (npm run kb:export)
  // -------------------------------------------------------------------------------------------

  /**
   * Writes articles to `dir` as Markdown (front matter + text): every article with `all`, else only
   * those whose file is not in `dir` (added from Discord with syncing off, or whose file went
   * missing). Files read back to the same id and content hash.
   */
  async exportArticles(dir: string, options: { all?: boolean } = {}): Promise<{ written: string[]; skipped: number }> {
    const root = path.resolve(dir);
    const written: string[] = [];
    let skipped = 0;
    const claimed = new Set<string>();
    for (const a of await this.kb.listArticles()) {
      const own = await this.filesOfIn(root, a);
      if (!options.all && own.length > 0) {
        skipped++;
        continue;
      }
      const body = (await this.kb.articleBody(a.id)) ?? '';
      // Its own Markdown file is overwritten; otherwise the origin path when it is a free .md, else <id>.md.
      const ownMd = own.find((r) => r.toLowerCase().endsWith('.md') && !claimed.has(r));
      const originFree = insideDir(root, a.origin) && a.origin.toLowerCase().endsWith('.md') && !existsSync(path.join(root, a.origin)) && !claimed.has(a.origin);
      const rel = ownMd ?? (originFree ? a.origin : freeName(root, a.id));
      claimed.add(rel);
      writeFileAtomic(
        path.join(root, rel),
        articleToMarkdown({ title: a.title, body, url: a.url, date: a.date, author: a.author, meta: { added_by: a.addedBy, added_at: a.addedAt } }),
      );
      written.push(rel);
    }
    return { written, skipped };
  }

  private async filesOfIn(root: string, a: ArticleRecord): Promise<string[]> {
    const out: string[] = [];
    for (const rel of new Set([a.origin, `${a.id}.md`])) if (await fileHoldsArticle(root, rel, a.id)) out.push(rel);
    return out;
  }
}
