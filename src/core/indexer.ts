/**
 * Changing a knowledge base: the model policy (which embedding model its vectors come from),
 * ingest planning (what to embed again, what to keep), removals and reindexing, all written
 * through the storage port. Every operation runs under the tenant's writer lock
 * (`TenantStore.exclusive`), so two ingests of the same article, in one process or two, run one
 * after the other, and every commit writes its audit rows in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { originId, splitParagraphs, type ChunkOptions } from './chunk.js';
import type { Embedder, EmbedderInfo } from './embed/embedder.js';
import { chunkArticles } from './offload/thread.js';
import type { Actor, AuditEntry } from './store/audit.js';
import type { ArticleWrite, ArticleDump, IndexModel, StoredPassage, TenantStore } from './store/port.js';
import type { SentenceVectorCache } from './store/sentence-vectors.js';
import { UserInputError } from './errors.js';
import type { ChunkedArticle, RawArticle } from './types.js';

/** The index on disk was built with another embedding model than the one configured. */
export class ModelMismatchError extends Error {
  override name = 'ModelMismatchError';
}

/** A reindex of this knowledge base is already running (in this process or another). */
export class ReindexRunningError extends UserInputError {
  override name = 'ReindexRunningError';
  constructor(readonly running: RunningReindex) {
    super(`A reindex is already running (started by ${running.actor.name ?? running.actor.id} at ${new Date(running.since).toISOString()}). Nothing was changed.`);
  }
}

/** Who started the running reindex, and when (epoch ms). */
export interface RunningReindex {
  actor: Actor;
  since: number;
}

/**
 * The "reindex running" marker every process sees (`tenant.reindexMarker`): it lapses `ttlMs`
 * after its last renewal, renewed every `renewEveryMs` while the reindex runs, so a process
 * killed mid-reindex blocks the next one for at most `ttlMs`. Defaults 60 s and 20 s.
 */
export interface ReindexMarkerTiming {
  ttlMs?: number;
  renewEveryMs?: number;
}

export interface ReindexOptions {
  actor?: Actor;
  onProgress?: (p: ReindexProgress) => void;
  batchSize?: number;
  marker?: ReindexMarkerTiming;
  /** The clock the marker is stamped with (epoch ms). Default Date.now. */
  now?: () => number;
}

/** A committed change, as seen by listeners (caches, autocomplete, a log channel). */
export interface ChangeEvent {
  version: number;
  kind: 'ingest' | 'remove' | 'reindex' | 'clear' | 'note';
  /** Audit rows written with the change. */
  audit: AuditEntry[];
}

export interface ReindexProgress {
  phase: 'embedding' | 'indexing' | 'done';
  articles: number;
  passages: number;
  embedded: number;
}

export interface ReindexReport {
  articles: number;
  passages: number;
  embedded: number;
  duplicatesDropped: number;
  /** Model before and after. */
  fromModel?: string;
  model: string;
  seconds: number;
  version: number;
}

export interface IngestProgress {
  articles: number;
  totalArticles: number;
  embedded: number;
  toEmbed: number;
}

export interface IngestOptions {
  /** Recorded on the article ("added by"). */
  addedBy?: string;
  /** Who made the change, for the audit trail. Default `{ id: 'local' }`. */
  actor?: Actor;
  /** Article ids to remove in the same transaction as the first write (replacing an article under a new id). */
  remove?: string[];
  /**
   * Stored article ids that an article from another origin may replace (a confirmed `/kb add`).
   * Otherwise an article whose title gives the id of a stored article from another file gets an
   * id of its own (reported in `renamed`), never silently replacing it.
   */
  replace?: string[];
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestReport {
  articles: number;
  added: number;
  updated: number;
  unchanged: number;
  passages: number;
  embedded: number;
  duplicatesDropped: number;
  seconds: number;
  embedSeconds: number;
  /** Chunked articles that were written, for callers that report per article. */
  written: ChunkedArticle[];
  /** Audit rows of the change. */
  audit: AuditEntry[];
  /** Articles not stored, and why (an article without any text to index is never stored empty). */
  refused: { id: string; title: string; origin: string; reason: string }[];
  /** Articles stored under an id of their own because their title's id belongs to an article from another origin. */
  renamed: { id: string; title: string; origin: string; clashesWith: { id: string; origin: string } }[];
}

export const LOCAL_ACTOR: Actor = { id: 'local', name: 'local', via: 'cli' };

export function modelOf(info: EmbedderInfo): IndexModel {
  return { model: info.model, dimension: info.dimension, normalized: info.normalized };
}

export function sameModel(a: IndexModel, b: IndexModel): boolean {
  return a.model === b.model && a.dimension === b.dimension && a.normalized === b.normalized;
}

/**
 * The model policy at opening: `rebuild` clears everything; vectors of another model than the
 * embedder's are refused (`'error'`) or kept for BM25-only answers until a reindex (`'stale'`;
 * writes are refused meanwhile, so the store never mixes two models); an empty store simply
 * takes the embedder's model. Returns whether the stored vectors are stale.
 */
export async function applyModelPolicy(
  tenant: TenantStore,
  embedder: EmbedderInfo,
  options: { rebuild?: boolean; onModelMismatch?: 'error' | 'stale'; where: string },
): Promise<boolean> {
  let state = await tenant.state();
  if (options.rebuild) {
    const cleared = state.articles;
    await tenant.clear(cleared > 0 ? { actor: { id: 'local', name: 'rebuild', via: 'cli' }, entries: [{ action: 'remove', details: { cleared } }] } : undefined);
    state = await tenant.state();
  }
  const recorded = state.model;
  let stale = false;
  if (recorded && !sameModel(modelOf(embedder), recorded)) {
    if (state.passages === 0) await tenant.clear();
    else if (options.onModelMismatch === 'stale') stale = true;
    else
      throw new ModelMismatchError(
        `The index in ${options.where} was built with ${recorded.model} (${recorded.dimension} dimensions) but the embedding model now is ${embedder.model} (${embedder.dimension} dimensions). ` +
          'Run `npm run ingest -- --rebuild` to re-embed the articles with the new model, or set EMBEDDING_MODEL back.',
      );
  }
  if (!stale && !(await tenant.state()).model) await tenant.setModel(modelOf(embedder));
  return stale;
}

export interface IndexerOptions {
  tenant: TenantStore;
  embedder: Embedder;
  chunk?: ChunkOptions;
  /** Embed the sentences of new passages at ingest (see KnowledgeBaseOptions). */
  sentenceVectorsAtIngest?: boolean;
  sentenceVectors: SentenceVectorCache;
  /** True while the stored vectors come from another model (writes other than a reindex are refused). */
  isStale: () => boolean;
  /** Called after every commit, before the operation goes on (caches refresh, listeners hear of it). */
  committed: (event: ChangeEvent) => Promise<void>;
  log?: (line: string) => void;
}

/** Ingest, removal and reindex planning over the storage port. */
export class Indexer {
  constructor(private readonly opts: IndexerOptions) {}

  private get tenant(): TenantStore {
    return this.opts.tenant;
  }

  /** Refuses writes while the store holds vectors of another model (they would be mixed). */
  private async assertWritable(): Promise<void> {
    if (!this.opts.isStale()) return;
    const recorded = (await this.tenant.state()).model;
    throw new ModelMismatchError(
      `The index was built with ${recorded?.model} but the embedding model now is ${this.opts.embedder.info.model}. Reindex first (/kb reindex or npm run ingest), then add articles.`,
    );
  }

  /**
   * Adds or replaces articles. Unchanged articles (same content hash) cost nothing; in a changed
   * article only paragraphs whose text changed are embedded again. Commits in groups so a crash
   * loses at most one group of embedding work.
   */
  ingest(raw: RawArticle[], opts: IngestOptions = {}): Promise<IngestReport> {
    return this.tenant.exclusive(async () => {
      await this.assertWritable();
      const started = performance.now();
      let embedMs = 0;
      const actor = opts.actor ?? LOCAL_ACTOR;
      const audit: AuditEntry[] = [];
      const refused: IngestReport['refused'] = [];
      // Chunked on the parse worker (a 5 MB article never stalls the event loop).
      const all = (await chunkArticles(raw, this.opts.chunk)).map((article, i) => ({ raw: raw[i], article }));
      for (const { article } of all) {
        if (article.passages.length === 0) refused.push({ id: article.id, title: article.title, origin: article.origin, reason: 'no text to index' });
      }
      const usable = all.filter((c) => c.article.passages.length > 0);
      // What is stored under the ids the articles would take (read once: the writer lock is held).
      const stored = new Map<string, { origin: string; hash: string } | undefined>();
      for (const { article } of usable) if (!stored.has(article.id)) stored.set(article.id, await this.tenant.getArticle(article.id));
      const renamed: IngestReport['renamed'] = [];
      const chunked = assignIds(usable.map((c) => c.article), (id) => stored.get(id), new Set(opts.replace ?? []), renamed);
      const bodies = new Map(chunked.map((c, i) => [c.id, splitParagraphs(usable[i].raw.body).join('\n\n')]));
      // Articles replaced under another id (same URL, new title) go in the same commit as the first write.
      let removals: string[] = [];
      for (const id of opts.remove ?? []) if (!chunked.some((c) => c.id === id) && (await this.tenant.getArticle(id))) removals.push(id);
      const report: IngestReport = {
        articles: chunked.length, added: 0, updated: 0, unchanged: 0, passages: 0, embedded: 0,
        duplicatesDropped: 0, seconds: 0, embedSeconds: 0, written: [], audit: [], refused, renamed,
      };
      type Plan = { article: ChunkedArticle; reuse: Map<string, Float32Array>; isNew: boolean };
      const plans: Plan[] = [];
      for (const article of chunked) {
        report.duplicatesDropped += article.duplicatesDropped;
        report.passages += article.passages.length;
        const existing = await this.tenant.getArticle(article.id);
        if (existing && existing.hash === article.hash) {
          report.unchanged++;
          continue;
        }
        plans.push({ article, reuse: existing ? await this.tenant.articleVectorsByHash(article.id) : new Map(), isNew: !existing });
      }
      const toEmbed = plans.reduce((n, p) => n + p.article.passages.filter((x) => !p.reuse.has(x.hash)).length, 0);
      const progress = { articles: report.unchanged, totalArticles: chunked.length, embedded: 0, toEmbed };
      opts.onProgress?.({ ...progress });

      const GROUP_PASSAGES = 512;
      let group: ArticleWrite[] = [];
      let groupSize = 0;
      const flush = async () => {
        if (group.length === 0 && removals.length === 0) return;
        const outcome = await this.tenant.commit({ write: group, remove: removals, audit: { actor } });
        removals = [];
        group = [];
        groupSize = 0;
        audit.push(...outcome.audit);
        await this.opts.committed({ version: outcome.version, kind: 'ingest', audit: outcome.audit });
      };
      // Passages of several articles are embedded in one request, so a pool of workers gets
      // slices big enough to keep every core busy (an article alone is a handful of passages).
      const EMBED_WINDOW = 64;
      for (let start = 0; start < plans.length; ) {
        let end = start;
        let windowSize = 0;
        while (end < plans.length && (end === start || windowSize < EMBED_WINDOW)) {
          windowSize += plans[end].article.passages.filter((p) => !plans[end].reuse.has(p.hash)).length;
          end++;
        }
        const window = plans.slice(start, end);
        start = end;
        const missing = window.flatMap((plan) => plan.article.passages.filter((p) => !plan.reuse.has(p.hash)));
        const fresh = new Map<string, Float32Array>();
        if (missing.length > 0) {
          const t0 = performance.now();
          const vectors = await this.opts.embedder.embed(missing.map((p) => p.text));
          embedMs += performance.now() - t0;
          missing.forEach((p, i) => fresh.set(p.hash, vectors[i]));
          if (this.opts.sentenceVectorsAtIngest) embedMs += await this.opts.sentenceVectors.warm(missing.map((p) => p.text), vectors);
          report.embedded += missing.length;
          progress.embedded += missing.length;
        }
        for (const plan of window) {
          const { article, reuse } = plan;
          const passages = article.passages.map((passage) => ({ passage, vector: (reuse.get(passage.hash) ?? fresh.get(passage.hash))! }));
          group.push({ article, passages, addedBy: opts.addedBy, body: bodies.get(article.id) });
          groupSize += passages.length;
          if (plan.isNew) report.added++;
          else report.updated++;
          report.written.push(article);
          progress.articles++;
          opts.onProgress?.({ ...progress });
          if (groupSize >= GROUP_PASSAGES) await flush();
        }
      }
      await flush();
      report.seconds = (performance.now() - started) / 1000;
      report.embedSeconds = embedMs / 1000;
      report.audit = audit;
      return report;
    });
  }

  /** Removes articles by id; they are never cited again from the moment this resolves. */
  remove(articleIds: string[], opts: { actor?: Actor } = {}): Promise<{ removed: number; audit: AuditEntry[] }> {
    return this.tenant.exclusive(async () => {
      const present: string[] = [];
      for (const id of new Set(articleIds)) if (await this.tenant.getArticle(id)) present.push(id);
      if (present.length === 0) return { removed: 0, audit: [] };
      const outcome = await this.tenant.commit({ remove: present, audit: { actor: opts.actor ?? LOCAL_ACTOR } });
      await this.opts.committed({ version: outcome.version, kind: 'remove', audit: outcome.audit });
      return { removed: outcome.removed.length, audit: outcome.audit };
    });
  }

  /**
   * Rebuilds every passage and vector from the stored articles with the configured embedder (after
   * changing EMBEDDING_MODEL, or to compact the vector index). The old indexes keep answering while
   * the articles are re-embedded; then ONE commit replaces every passage and records the model, and
   * the store swaps its indexes, so a question sees all-old or all-new. Articles are re-embedded
   * in id order (the order the store dumps them).
   *
   * One at a time per knowledge base across processes, whoever starts it (`/kb reindex`, `npm run
   * ingest` after a model change): the tenant's reindex marker is claimed first, so a second one is
   * refused with {@link ReindexRunningError} instead of queueing behind the writer lock and
   * embedding everything a second time.
   */
  async reindex(opts: ReindexOptions = {}): Promise<ReindexReport> {
    const marker = this.tenant.reindexMarker;
    const now = opts.now ?? Date.now;
    const ttlMs = opts.marker?.ttlMs ?? 60_000;
    const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
    const claim = await marker.claim({ holder, actor: opts.actor ?? LOCAL_ACTOR, ttlMs, now: now() });
    if (!claim.ok) throw new ReindexRunningError({ actor: claim.running.actor, since: claim.running.since });
    const log = (line: string) => this.opts.log?.(line);
    const heartbeat = setInterval(() => {
      marker.renew(holder, ttlMs, now()).then(
        (held) => {
          if (!held) log('the reindex marker lapsed and another reindex may have started; this one carries on under the writer lock');
        },
        (error: Error) => log(`could not renew the reindex marker (it lapses in ${ttlMs / 1000} s unless a renewal gets through): ${error.message}`),
      );
    }, opts.marker?.renewEveryMs ?? 20_000);
    heartbeat.unref();
    try {
      return await this.reindexClaimed(opts);
    } finally {
      clearInterval(heartbeat);
      await marker.release(holder).catch((error: Error) => log(`could not release the reindex marker (it lapses in ${ttlMs / 1000} s): ${error.message}`));
    }
  }

  private reindexClaimed(opts: ReindexOptions): Promise<ReindexReport> {
    return this.tenant.exclusive(async () => {
      const started = performance.now();
      const info = this.opts.embedder.info;
      const fromModel = (await this.tenant.state()).model?.model;
      const batchSize = Math.max(1, opts.batchSize ?? 32);

      const dumps: ArticleDump[] = [];
      for await (const dump of this.tenant.dumpArticles()) dumps.push(dump);
      const bodies = dumps.map((d) => d.body ?? bodyFromPassages(d.passages));
      const articles = await chunkArticles(
        dumps.map(({ record: a }, i) => ({ title: a.title, body: bodies[i], url: a.url, date: a.date, author: a.author, origin: a.origin })),
        this.opts.chunk,
        dumps.map((d) => d.record.id),
      );
      const all = articles.flatMap((a) => a.passages);
      const progress: ReindexProgress = { phase: 'embedding', articles: dumps.length, passages: all.length, embedded: 0 };
      opts.onProgress?.({ ...progress });

      // 1. Embed everything (the old indexes keep answering meanwhile).
      const vectors: Float32Array[] = [];
      for (let i = 0; i < all.length; i += batchSize) {
        const batch = await this.opts.embedder.embed(all.slice(i, i + batchSize).map((p) => p.text));
        vectors.push(...batch);
        progress.embedded += batch.length;
        opts.onProgress?.({ ...progress });
      }

      // 2. One commit: the store builds the new indexes beside the old ones and swaps them in.
      progress.phase = 'indexing';
      opts.onProgress?.({ ...progress });
      let next = 0;
      const writes: ArticleWrite[] = articles.map((article, i) => ({
        article,
        body: bodies[i],
        ...(dumps[i].record.addedBy ? { addedBy: dumps[i].record.addedBy } : {}),
        passages: article.passages.map((passage) => ({ passage, vector: vectors[next++] })),
      }));
      const outcome = await this.tenant.commit({
        write: writes,
        replaceAll: true,
        model: modelOf(info),
        keepTimestamps: true,
        audit: {
          actor: opts.actor ?? LOCAL_ACTOR,
          perArticle: false,
          extra: [{ action: 'reindex', details: { articles: dumps.length, passages: all.length, fromModel, model: info.model } }],
        },
      });
      await this.opts.committed({ version: outcome.version, kind: 'reindex', audit: outcome.audit });
      progress.phase = 'done';
      opts.onProgress?.({ ...progress });
      return {
        articles: dumps.length,
        passages: all.length,
        embedded: all.length,
        duplicatesDropped: articles.reduce((n, a) => n + a.duplicatesDropped, 0),
        fromModel,
        model: info.model,
        seconds: (performance.now() - started) / 1000,
        version: outcome.version,
      };
    });
  }
}

/** A body from stored passages (catalogs written before bodies were kept): parts of a paragraph joined again. */
export function bodyFromPassages(passages: StoredPassage[]): string {
  const paragraphs: string[] = [];
  let last = -1;
  for (const p of [...passages].sort((a, b) => a.label - b.label)) {
    if (p.paragraph === last) paragraphs[paragraphs.length - 1] += ` ${p.text}`;
    else paragraphs.push(p.text);
    last = p.paragraph;
  }
  return paragraphs.join('\n\n');
}

/**
 * Article ids are title slugs. An article whose slug is taken by an article from another origin
 * (earlier in the batch, or stored with other content) gets the id `<slug>-<hash of its origin>`,
 * stable across ingests, and is reported in `renamed`; only ids in `replaceable` (a confirmed
 * replace) go to the newcomer. The same content from another origin is the same article.
 */
function assignIds(
  articles: ChunkedArticle[],
  stored: (id: string) => { origin: string; hash: string } | undefined,
  replaceable: Set<string>,
  renamed: IngestReport['renamed'],
): ChunkedArticle[] {
  const seen = new Map<string, string>();
  return articles.map((a) => {
    let owner = seen.get(a.id);
    if (owner === undefined && !replaceable.has(a.id)) {
      const existing = stored(a.id);
      if (existing && existing.origin !== a.origin && existing.hash !== a.hash) owner = existing.origin;
    }
    if (owner === undefined) {
      seen.set(a.id, a.origin);
      return a;
    }
    if (owner === a.origin) return a;
    const id = originId(a.id, a.origin);
    seen.set(id, a.origin);
    renamed.push({ id, title: a.title, origin: a.origin, clashesWith: { id: a.id, origin: owner } });
    return rekey(a, id);
  });
}

function rekey(article: ChunkedArticle, id: string): ChunkedArticle {
  return {
    ...article,
    id,
    passages: article.passages.map((p) => ({ ...p, id: p.id.replace(article.id, id), articleId: id })),
  };
}
