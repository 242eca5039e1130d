/**
 * The storage port: everything a knowledge base keeps, behind one async interface with two
 * backends (`local/`: SQLite + hnswlib + MiniSearch files, the default; `postgres/`: PostgreSQL +
 * pgvector, shared by any number of processes).
 *
 * Design notes
 * - Height. The port stores and searches; it does not chunk, embed, fuse or compose. Searching
 *   returns *candidates* scored by both sides (BM25-like score and cosine), read from one
 *   snapshot in one call ({@link TenantStore.search}), so fusion and diversification stay in the
 *   core retriever and a commit can never land between the lexical and the dense half of a query.
 * - Tenancy. `store.open(tenant)` hands out a {@link TenantStore} bound to one knowledge base
 *   (`null` = the operator's base/shared one, else a Discord server id); every call on it is keyed
 *   by that tenant (a folder locally, a `tenant` column in Postgres, filled in on every statement).
 *   A handle rather than a `tenant` argument on ~50 methods: the registry already opens one
 *   knowledge base per server and closes idle ones, so a handle maps onto it one to one, and a
 *   call can never forget the key. Cross-tenant things (server directory, purging a tenant, the
 *   change feed) live on the {@link KnowledgeStore} itself.
 * - Atomic commits. {@link TenantStore.commit} writes, replaces and removes articles, the audit
 *   rows describing them and (optionally) the embedding model in one transaction, and every index
 *   (dense, lexical) is in step with the catalog when it resolves: a reader sees before or after,
 *   never half. Audit rows are data, not a callback, so the remote backend can write them inside
 *   its transaction.
 * - Writers. Commits of one tenant are serialised by the store (across processes in Postgres: an
 *   advisory transaction lock). {@link TenantStore.exclusive} holds the tenant's writer lock for a
 *   whole operation (plan → embed → commit) so two ingests of the same article, in two processes,
 *   run one after the other. Readers never wait for either.
 * - Model policy. The embedding model (id, dimension, normalisation) is recorded per tenant in the
 *   store; commits whose vectors have another dimension are refused, and a commit may record a
 *   new model together with the passages embedded with it (a reindex).
 * - Labels. A passage's `label` (its key on both search sides) is unique within its tenant only,
 *   and a replaced passage never gets its old label back, so a label seen in one search can never
 *   name another text later. Passage ids (`article#paragraph`) are what answers and votes keep.
 * - Change feed. {@link KnowledgeStore.subscribe} reports every committed change of any tenant,
 *   from this process at once and, for a shared backend, from other processes (LISTEN/NOTIFY),
 *   so caches (autocomplete titles, summaries) drop stale entries. After the feed was interrupted
 *   a `resync` event says "assume anything changed".
 */
import type { Actor, AuditEntry, AuditEntryInput } from './audit.js';
import type { ArticleRecord, ArticleTitle, CommittedArticle, IndexModel, StoredPassage } from './catalog.js';
import type { FeedbackRow, QuestionRecord, QuestionRecordInput, UsageStats, Vote } from './feedback.js';
import type { FeedEntryRecord, FeedRecord, PollOutcome } from './feeds.js';
import type { ServerRow } from './servers.js';
import type { ChunkedArticle, Passage } from '../types.js';

export type { Actor, AuditEntry, AuditEntryInput } from './audit.js';
export type { ArticleRecord, ArticleTitle, CommittedArticle, IndexModel, StoredPassage } from './catalog.js';
export type { FeedbackRow, QuestionRecord, QuestionRecordInput, StoredSource, UsageStats, Vote } from './feedback.js';
export type { ServerRow } from './servers.js';
export type { FeedEntryRecord, FeedKind, FeedRecord, FeedResult, PollOutcome } from './feeds.js';

/** `null`: the operator's knowledge base (shared, or the base layer); otherwise a Discord server id. */
export type TenantKey = string | null;

const SERVER_ID = /^\d{1,20}$/;

/** The tenant's name in storage: 'base' or the server id. Throws on anything else (ids reach paths and SQL). */
export function tenantName(tenant: TenantKey): string {
  if (tenant === null || tenant === 'base') return 'base';
  if (!SERVER_ID.test(tenant)) throw new Error(`not a server id: ${JSON.stringify(tenant)} (a tenant is null for the operator's knowledge base, or a Discord server id)`);
  return tenant;
}

export function tenantKey(name: string): TenantKey {
  return name === 'base' ? null : name;
}

// ---------------------------------------------------------------------------------------------
// Catalog and commits
// ---------------------------------------------------------------------------------------------

export interface StoreState {
  /** Increments with every committed change of this tenant. */
  version: number;
  lastChange?: string;
  /** The embedding model the stored vectors come from (undefined until recorded). */
  model?: IndexModel;
  articles: number;
  passages: number;
}

export interface PassageWithVector {
  passage: Passage;
  vector: Float32Array;
}

export interface ArticleWrite {
  article: ChunkedArticle;
  /** Passages with their vectors, in article order. */
  passages: PassageWithVector[];
  addedBy?: string;
  /** The article's body (paragraphs separated by blank lines); kept for exports and reindexing. */
  body?: string;
  /** Timestamps to keep (copying a knowledge base); default: now for new articles, the stored ones otherwise. */
  addedAt?: string;
  updatedAt?: string;
}

export interface CommitRequest {
  write?: ArticleWrite[];
  /** Article ids to remove (unknown ids are ignored). */
  remove?: string[];
  /** Every article not in `write` is removed, and the indexes are rebuilt beside the old ones (a reindex). */
  replaceAll?: boolean;
  /** Records this embedding model in the same transaction (vectors must have its dimension). */
  model?: IndexModel;
  /** Keeps `updatedAt` of written articles (a reindex re-embeds; it does not edit). */
  keepTimestamps?: boolean;
  /**
   * Audit rows written in the same transaction. By default one row per article (`add`, `replace`,
   * `remove`); `perArticle: false` writes only `extra` (a reindex writes one `reindex` row).
   */
  audit?: { actor: Actor; perArticle?: boolean; extra?: AuditEntryInput[] };
}

export interface CommitOutcome {
  version: number;
  at: string;
  written: CommittedArticle[];
  removed: CommittedArticle[];
  /** The stored passages of the written articles, with their labels. */
  added: StoredPassage[];
  audit: AuditEntry[];
}

/** An article with everything needed to copy it elsewhere without re-embedding. */
export interface ArticleDump {
  record: ArticleRecord;
  body: string | null;
  passages: (StoredPassage & { vector: Float32Array })[];
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

export interface DenseHit {
  label: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

export interface LexicalHit {
  label: number;
  /** BM25 score (unbounded, higher is better). */
  score: number;
}

export interface SearchRequest {
  /** The question (or query) as typed: tokenised and stemmed by the store's lexical side. */
  text: string;
  /** The question's embedding; without it only the lexical side runs (dense scores are 0). */
  vector?: Float32Array;
  /** Candidates taken from each side. */
  k: number;
}

/** A passage either side found, scored by both (what the retriever fuses). */
export interface SearchCandidate {
  passage: StoredPassage;
  articleTitle: string;
  articleUrl?: string;
  /** The article's publication date, when known (questions about time filter on it). */
  articleDate?: string;
  /** Cosine similarity to `vector` (also for lexical-only hits); 0 without a vector. */
  dense: number;
  /** BM25 score; 0 when the lexical side did not return it. */
  lexical: number;
}

// ---------------------------------------------------------------------------------------------
// Questions and feedback, summaries, confirmations, server directory
// ---------------------------------------------------------------------------------------------

/** The questions the bot handled and the votes on them (the async shape of `FeedbackStore`). */
export interface QuestionStore {
  recordQuestion(input: QuestionRecordInput): Promise<number>;
  /** With `guildId` (null for a DM): only a question asked there. */
  getQuestion(id: number, guildId?: string | null): Promise<QuestionRecord | undefined>;
  recentQuestions(conversationId: string, limit?: number): Promise<string[]>;
  recordFeedback(input: { questionId: number; userId: string; guildId?: string | null; vote: Vote; at?: string }): Promise<FeedbackRow | undefined>;
  listFeedback(options?: { since?: string; guildId?: string }): Promise<FeedbackRow[]>;
  forgetServer(guildId: string): Promise<number>;
  stats(guildId?: string): Promise<UsageStats>;
  forgetOlderThan(days: number, now?: Date): Promise<number>;
  /** Every question, oldest first (for copying a knowledge base elsewhere). */
  listQuestions(): Promise<QuestionRecord[]>;
  /** Copies rows verbatim, ids included (into an empty store). */
  importRows(questions: QuestionRecord[], feedback: FeedbackRow[]): Promise<void>;
}

export interface CachedSummary {
  articleId: string;
  length: string;
  /** Content hash of the article the summary was computed from. */
  articleHash: string;
  model: string;
  algorithm: number;
  /** The summary, serialised by the summariser. */
  result: string;
  createdAt?: string;
}

export interface SummaryCache {
  get(articleId: string, length: string): Promise<CachedSummary | undefined>;
  /** Stores it only while the article still has `articleHash` (a write may have landed meanwhile). Returns whether it was stored. */
  put(entry: CachedSummary): Promise<boolean>;
  count(): Promise<number>;
}

/**
 * Sentence vectors and sentence entities for answer composition, content-addressed (a key is a
 * hash of the sentence): a sentence is embedded and tagged once, and the result survives restarts.
 * Batch calls, because an answer looks at a few dozen sentences at once.
 */
export interface SentenceCache {
  /** The stored vectors of these keys under `model` (missing keys are absent from the map). */
  vectors(model: string, keys: string[]): Promise<Map<string, Float32Array>>;
  /** Keeps vectors (a key already stored keeps its first vector). */
  putVectors(model: string, entries: { key: string; vector: Float32Array }[]): Promise<void>;
  /** The stored entities (serialised by the tagger) of these keys. */
  entities(keys: string[]): Promise<Map<string, string>>;
  putEntities(entries: { key: string; entities: string }[]): Promise<void>;
  /** Every stored vector, by model and key, a page at a time (copying a knowledge base elsewhere). */
  dumpVectors(pageSize?: number): AsyncIterable<{ model: string; key: string; vector: Float32Array }[]>;
  /** Every stored entity record, by key, a page at a time. */
  dumpEntities(pageSize?: number): AsyncIterable<{ key: string; entities: string }[]>;
}

export type TakeResult = { ok: true; data: unknown } | { ok: false; reason: 'expired' | 'not-yours' };

/** Pending `/kb` confirmations (Replace / Remove buttons): survive a restart and work on any process. */
export interface ConfirmationStore {
  /**
   * Stores `data` (JSON-serialisable) for `userId`; returns the token the button carries. With
   * `maxPendingBytes`, what all pending confirmations hold (their data as JSON) is capped: the ones
   * closest to expiry are dropped first to make room (each confirmation may hold an upload).
   */
  stage(userId: string, data: unknown, ttlMs: number, now?: number, maxPendingBytes?: number): Promise<string>;
  /** Takes it once; someone else's token is refused and left in place. */
  take(token: string, userId: string, now?: number): Promise<TakeResult>;
  cancel(token: string, userId: string): Promise<boolean>;
  /** Confirmations still waiting (expired ones are dropped first). */
  pending(now?: number): Promise<number>;
}

/** Which servers the bot is in and since when it is not (the retention clock). */
export interface ServerDirectoryStore {
  joined(serverId: string, at?: Date): Promise<void>;
  left(serverId: string, at?: Date): Promise<void>;
  get(serverId: string): Promise<ServerRow | undefined>;
  list(): Promise<ServerRow[]>;
  leftBefore(before: Date): Promise<ServerRow[]>;
  forget(serverId: string): Promise<void>;
}

/**
 * The feeds a knowledge base follows and what the poller knows of their entries (conditional
 * request validators, item and content hashes, back-off state). Feed numbers count from 1 within
 * a tenant and are never reused.
 */
export interface FeedStore {
  /** `nextPollAt`: when the scheduler first takes it. A URL already followed here is refused (throws). */
  add(input: { url: string; announceChannelId?: string; addedBy?: string; now: Date; nextPollAt: Date }): Promise<FeedRecord>;
  get(id: number): Promise<FeedRecord | undefined>;
  findByUrl(url: string): Promise<FeedRecord | undefined>;
  /** By number. */
  list(): Promise<FeedRecord[]>;
  /** Feeds whose next poll is due at `now`, most overdue first. */
  due(now: Date): Promise<FeedRecord[]>;
  /** Removes the subscription and what is known of its entries (the articles stay). */
  remove(id: number): Promise<boolean>;
  setAnnounceChannel(id: number, channelId: string | undefined): Promise<void>;
  /**
   * Takes the feed for `owner` until `until` unless another owner holds an unexpired lease: one
   * conditional UPDATE, so of two pollers (in any processes) exactly one gets it, and a crashed
   * poller's lease simply expires.
   */
  lease(id: number, owner: string, now: Date, until: Date): Promise<boolean>;
  release(id: number, owner: string): Promise<void>;
  /** Who holds the feed's lease and until when, if anyone. */
  leaseOf(id: number): Promise<{ owner: string; until: string } | undefined>;
  /** The result of a poll; a failed one keeps the validators (ETag, Last-Modified) of the last good one. */
  recordPoll(id: number, outcome: PollOutcome): Promise<void>;
  /** Makes the feed due now. */
  dueNow(id: number, now: Date): Promise<void>;
  entry(feedId: number, key: string): Promise<FeedEntryRecord | undefined>;
  entries(feedId: number): Promise<FeedEntryRecord[]>;
  /** Records (or updates) an entry; article id, content hash, published date and author are kept when not given. */
  saveEntry(entry: Omit<FeedEntryRecord, 'firstSeenAt' | 'updatedAt'>, now: Date): Promise<void>;
  /**
   * Writes a feed copied from another store as it was (its number, validators, schedule, back-off,
   * counts) with its entries, so after `kb:migrate` nothing is fetched or embedded again; a lease
   * is not copied. Later feeds get higher numbers.
   */
  importFeed(feed: FeedRecord, entries: FeedEntryRecord[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// What every process sharing the store must agree on: cooldowns, the running reindex
// ---------------------------------------------------------------------------------------------

/** The outcome of {@link CooldownStore.take}. */
export type CooldownTake =
  | { ok: true }
  /** `notify` is true for the first refusal in a window only: a flood gets one note. */
  | { ok: false; retryAfterMs: number; notify: boolean };

/**
 * Cooldowns by key, store-wide (not per tenant): the bot's "one question per member every N
 * seconds" holds whichever process an interaction lands on. Times are the caller's clock in epoch
 * ms (processes sharing a store should keep their clocks in step; a skew shifts a window by as much).
 */
export interface CooldownStore {
  /**
   * Starts a window of `windowMs` for `key` and accepts, unless a window is running: then refuses
   * with the time left. Atomic: of concurrent takes of one free key (in any processes) exactly
   * one is `ok`. Expired windows are swept now and then on the way.
   */
  take(key: string, windowMs: number, now?: number): Promise<CooldownTake>;
  /** Ends `key`'s window (the member gets their question back). */
  release(key: string): Promise<void>;
  /** Forgets windows that ended by `now`; returns how many. */
  sweep(now?: number): Promise<number>;
}

/** A reindex in progress on a knowledge base (any process's). */
export interface ReindexMarker {
  /** Who runs it: unique per run (process and run), so only the run itself renews or releases it. */
  holder: string;
  actor: Actor;
  /** When it started, epoch ms. */
  since: number;
  /** Epoch ms after which it no longer counts unless its holder renews it (a killed process's marker lapses). */
  expiresAt: number;
}

/**
 * "A reindex is running here" for one tenant, seen by every process: the reindex itself queues
 * behind the tenant's writer lock anyway, but a second `/kb reindex` should be refused, not queued.
 * The holder renews it while it runs (a heartbeat) and releases it when done.
 */
export interface ReindexMarkerStore {
  /** Marks a reindex as running for `holder`, unless another holder's unexpired marker is there: that one is returned. */
  claim(input: { holder: string; actor: Actor; ttlMs: number; now?: number }): Promise<{ ok: true; marker: ReindexMarker } | { ok: false; running: ReindexMarker }>;
  /** Pushes the expiry to `now + ttlMs`. False when `holder` no longer holds it (it lapsed and was taken over, or was released). */
  renew(holder: string, ttlMs: number, now?: number): Promise<boolean>;
  /** Removes the marker if `holder` holds it. */
  release(holder: string): Promise<void>;
  /** The unexpired marker, if any. */
  current(now?: number): Promise<ReindexMarker | undefined>;
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

export interface StorageStats extends StoreState {
  /** Bytes this tenant takes on disk (files locally; an estimate of its rows in Postgres). */
  storageBytes: number;
  /** Vector slots incl. deleted ones waiting for reuse (local HNSW only). */
  vectorSlots?: number;
  deletedSlots?: number;
}

/** One knowledge base (tenant). Obtained from {@link KnowledgeStore.open}; `close()` when done. */
export interface TenantStore {
  readonly tenant: TenantKey;

  state(): Promise<StoreState>;
  /** Records the embedding model; refused while passages of another model are stored. */
  setModel(model: IndexModel): Promise<void>;

  listArticles(): Promise<ArticleRecord[]>;
  getArticle(id: string): Promise<ArticleRecord | undefined>;
  findArticleByUrl(url: string): Promise<ArticleRecord | undefined>;
  /** Id, title and date of every article, by title (the knowledge base keeps these in memory for autocomplete and questions about time). */
  titles(): Promise<ArticleTitle[]>;
  /** The stored body (null for articles stored before bodies were kept; undefined: no such article). */
  articleBody(id: string): Promise<string | null | undefined>;
  articlePassages(articleId: string): Promise<StoredPassage[]>;
  /** Vectors of an article's passages by content hash (unchanged paragraphs are not embedded again). */
  articleVectorsByHash(articleId: string): Promise<Map<string, Float32Array>>;
  passageById(id: string): Promise<StoredPassage | undefined>;
  passagesByLabels(labels: number[]): Promise<Map<number, StoredPassage>>;
  /** Every article with its body, passages and vectors, by id (copying, exporting). */
  dumpArticles(): AsyncIterable<ArticleDump>;

  /** Both sides of retrieval from one snapshot: top-`k` by BM25 and by cosine, each scored by both. */
  search(request: SearchRequest): Promise<SearchCandidate[]>;
  searchDense(vector: Float32Array, k: number): Promise<DenseHit[]>;
  searchLexical(text: string, k: number): Promise<LexicalHit[]>;
  /** Cosine of the given passages to `vector` (0 for unknown labels). */
  similarities(labels: number[], vector: Float32Array): Promise<Map<number, number>>;

  commit(request: CommitRequest): Promise<CommitOutcome>;
  /** Removes every article and passage and forgets the model (a rebuild with another embedder). */
  clear(audit?: { actor: Actor; entries: AuditEntryInput[] }): Promise<{ version: number; at: string; audit: AuditEntry[] }>;
  /** Runs `work` holding this tenant's writer lock (across processes where the backend is shared). Not re-entrant: `work` commits, it does not call `exclusive` again. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;

  /** Audit rows that go with no catalog change (a purge note), at the current version. */
  recordAudit(actor: Actor, entries: AuditEntryInput[]): Promise<AuditEntry[]>;
  /** Newest first (at most 10,000 a call; `beforeId` pages back). */
  auditTrail(options?: { limit?: number; articleId?: string; beforeId?: number }): Promise<AuditEntry[]>;
  /** Copies audit rows verbatim (into an empty store). */
  importAudit(entries: AuditEntry[]): Promise<void>;

  readonly questions: QuestionStore;
  readonly summaries: SummaryCache;
  readonly confirmations: ConfirmationStore;
  readonly feeds: FeedStore;
  readonly sentences: SentenceCache;
  readonly reindexMarker: ReindexMarkerStore;

  stats(): Promise<StorageStats>;
  close(): Promise<void>;
}

export type ChangeKind = 'commit' | 'clear' | 'note' | 'purge' | 'resync';

export interface StoreChange {
  /** The tenant that changed; undefined for `resync` (any tenant may have). */
  tenant: TenantKey | undefined;
  kind: ChangeKind;
  /** The tenant's version after the change (-1 when unknown). */
  version: number;
  /** Articles written or removed (may be cut short for very large commits; `truncated` then). */
  articles: string[];
  truncated?: boolean;
  /** True when another process made the change. */
  remote: boolean;
}

export interface KnowledgeStore {
  readonly kind: 'local' | 'postgres';
  /** True when several processes may use the same data at once. */
  readonly shared: boolean;
  /** A tenant's knowledge base, created on first use. */
  open(tenant: TenantKey): Promise<TenantStore>;
  /** Server tenants that hold data. */
  tenants(): Promise<string[]>;
  /** Tenants with a feed due at `now`, read without opening them (most servers follow no feed). */
  tenantsWithFeedsDue(now: Date): Promise<TenantKey[]>;
  /** The embedding model recorded for a tenant, read without creating or migrating anything (start-up picks the embedder by it). */
  modelOf(tenant: TenantKey): Promise<IndexModel | undefined>;
  /**
   * Blanks question and answer text older than `days` in every tenant (votes keep their counts),
   * without opening the tenants' indexes. Returns the questions changed.
   */
  forgetQuestionsOlderThan(days: number, now?: Date): Promise<number>;
  /**
   * A tenant's votes as `questions.listFeedback` gives them, read without opening the tenant: an
   * export beside a running bot neither loads nor saves its indexes, and asking about a server
   * creates nothing. Undefined when the tenant keeps nothing at all.
   */
  feedbackOf(tenant: TenantKey, options?: { since?: string; guildId?: string }): Promise<FeedbackRow[] | undefined>;
  /**
   * Deletes everything a server tenant keeps (articles, vectors, audit, questions, feedback,
   * summaries, confirmations, sentence caches, a reindex marker). It must not be open. Data about that server kept in *other*
   * tenants (questions asked there about the base layer) is the caller's to forget.
   */
  purgeTenant(serverId: string): Promise<{ articles: number; questions: number }>;
  readonly servers: ServerDirectoryStore;
  /** Store-wide cooldowns (the per-member question cooldown). */
  readonly cooldowns: CooldownStore;
  subscribe(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}

/** Thrown when a write would mix two embedding models, or vectors do not fit the recorded one. */
export class ModelPolicyError extends Error {
  override name = 'ModelPolicyError';
}

/** Checks a commit's vectors against the model it will be stored under. */
export function checkVectors(request: CommitRequest, recorded: IndexModel | undefined): IndexModel {
  const model = request.model ?? recorded;
  const writes = request.write ?? [];
  if (!model) {
    if (writes.some((w) => w.passages.length > 0)) {
      throw new ModelPolicyError('no embedding model is recorded for this knowledge base: record it (setModel) or pass `model` with the first commit');
    }
    return { model: '', dimension: 0, normalized: false };
  }
  if (request.model && recorded && !request.replaceAll && (recorded.model !== request.model.model || recorded.dimension !== request.model.dimension)) {
    throw new ModelPolicyError(
      `this knowledge base holds vectors of ${recorded.model} (${recorded.dimension} dimensions); switching to ${request.model.model} needs a commit that replaces every article (replaceAll)`,
    );
  }
  for (const w of writes) {
    for (const p of w.passages) {
      if (p.vector.length !== model.dimension) {
        throw new ModelPolicyError(`passage ${p.passage.id} has a ${p.vector.length}-dimensional vector; ${model.model} vectors have ${model.dimension}`);
      }
    }
  }
  return model;
}
