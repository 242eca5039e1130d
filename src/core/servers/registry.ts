/**
 * The knowledge bases of the servers a bot is in (`KB_SCOPE=server`), and the one shared by all
 * (`KB_SCOPE=shared`). A server's own knowledge base is a tenant of the base knowledge base's
 * store (locally `DATA_DIR/servers/<id>/`: catalog, vectors, lexical index, summaries cache,
 * questions, feedback, audit, pending confirmations) and is opened on first use and closed after
 * `idleCloseMs` without use, so memory follows the busy servers, not all of them. The operator's
 * knowledge base (built from KNOWLEDGE_DIR) is the base layer every server also answers from,
 * unless `baseLayer` is off; direct messages answer from it alone. Which servers the bot is in,
 * and since when it is not (the retention clock), is the store's server directory.
 */
import { join } from 'node:path';
import { KnowledgeAdmin, type AdminOptions } from '../admin/index.js';
import type { Embedder } from '../embed/embedder.js';
import { KnowledgeBase, type Actor, type ChangeEvent, type KnowledgeBaseOptions } from '../knowledge-base.js';
import type { KnowledgeStore, QuestionStore, ServerRow } from '../store/port.js';
import { SummaryService } from '../summarize/service.js';
import { LayeredKnowledge } from './layered.js';
import { writeAccess, type TenancyPolicy, type WriteAccess } from './policy.js';
import type { KnowledgeReader } from './reader.js';

/** Everything one server (or a DM, `serverId` null) reads and may change. */
export interface ServerScope {
  serverId: string | null;
  /** What questions, summaries and autocomplete read. */
  reader: KnowledgeReader;
  /** Questions and feedback of this scope. */
  store: QuestionStore;
  summaries: SummaryService;
  /** Which knowledge base `/kb` changes from here, or why nothing. */
  access: WriteAccess;
  /** Set when nothing can be answered here (a DM when servers have no base layer): say this instead. */
  unavailable?: string;
  /** The moderation service of the knowledge base `/kb` manages from here (present unless refused). */
  admin?: KnowledgeAdmin;
  /** The knowledge base `/kb list|show|stats` show from here: the server's own in `server` scope, else the shared one. */
  managed: KnowledgeAdmin;
}

/** A scope in use; `release()` once done with it (the server's files may then be closed when idle). */
export interface ScopeLease {
  scope: ServerScope;
  release(): void;
}

export interface ServerRegistryOptions {
  policy: TenancyPolicy;
  /**
   * The operator's knowledge base: shared, or the base layer. Owned by the caller. Its store holds
   * every server's knowledge base too, and its questions store those of the shared knowledge base and of DMs.
   */
  base: KnowledgeBase;
  /** Its moderation service (knowledge folder kept in step). */
  baseAdmin: KnowledgeAdmin;
  /** Summaries of the shared/base knowledge base (default: one on `base`). */
  baseSummaries?: SummaryService;
  embedder: Embedder;
  /** DATA_DIR, for the feed poller's look at the local server folders (`serversDir`). */
  dataDir: string;
  /** Options for every server's own knowledge base (chunking, retrieval, question length). */
  kbOptions?: Pick<KnowledgeBaseOptions, 'chunk' | 'hnsw' | 'lexical' | 'fusion' | 'compose' | 'candidates' | 'maxQuestionChars' | 'sentenceVectorsAtIngest'>;
  /** Options of a server's moderation service (upload size; no knowledge folder). */
  adminOptions?: Pick<AdminOptions, 'maxUploadBytes' | 'fetch' | 'downloadTimeoutMs' | 'confirmationTtlMs'>;
  /** Caps of a server's own knowledge base. */
  limits?: { maxArticles?: number; maxPassages?: number };
  /** Close a server's knowledge base after this long unused. Default 10 minutes. */
  idleCloseMs?: number;
  /** Keep a server's data this long after the bot left it. Default 30 days. */
  retentionDays?: number;
  /** How many servers the bot is in right now (decides the home server when no admin server is set). */
  joinedServers?: () => number;
  log?: (line: string) => void;
  now?: () => Date;
}

interface OpenServer {
  kb: KnowledgeBase;
  scope: Omit<ServerScope, 'access' | 'admin'>;
  admin: KnowledgeAdmin;
}

interface Entry {
  ready: Promise<OpenServer>;
  refs: number;
  timer?: NodeJS.Timeout;
}

const SERVER_ID = /^\d{1,20}$/;
const SYSTEM: Actor = { id: 'bot', name: 'retention', via: 'bot' };

export class ServerRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Servers being closed: a new open waits for the close to finish (one writer per folder). */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly baseSummaries: SummaryService;
  private closed = false;
  private readonly changeListeners = new Set<(serverId: string, event: ChangeEvent) => void>();

  constructor(private readonly opts: ServerRegistryOptions) {
    this.baseSummaries = opts.baseSummaries ?? new SummaryService({ kb: opts.base, embedder: opts.embedder });
  }

  /** Where every knowledge base lives: the base knowledge base's store. */
  private get store(): KnowledgeStore {
    return this.opts.base.store;
  }

  /** Questions and feedback of the shared knowledge base and of DMs. */
  private get baseQuestions(): QuestionStore {
    return this.opts.base.tenant.questions;
  }

  get policy(): TenancyPolicy {
    return this.opts.policy;
  }

  /** The moderation service of the operator's knowledge base (shared, or the base layer). */
  get baseAdmin(): KnowledgeAdmin {
    return this.opts.baseAdmin;
  }

  /** Where the registry keeps the servers' folders (`<dataDir>/servers/<id>/`). */
  get serversDir(): string {
    return join(this.opts.dataDir, 'servers');
  }

  /**
   * Runs `work` with the moderation service of a server's own knowledge base (opened if needed,
   * closed when idle as usual), whatever who asks may do: for the bot's own background work
   * (polling that server's feeds), never for a member's request, which goes through `acquire`.
   */
  async useOwn<T>(serverId: string, work: (admin: KnowledgeAdmin) => Promise<T>): Promise<T> {
    if (this.opts.policy.scope !== 'server') throw new Error('servers have no knowledge base of their own unless KB_SCOPE=server');
    if (!SERVER_ID.test(serverId)) throw new Error(`not a server id: ${JSON.stringify(serverId)}`);
    // acquire() hands out the server's own scope unless this server manages the base layer.
    const lease = await this.acquire(serverId);
    try {
      const own = lease.scope.managed;
      if (own === this.opts.baseAdmin) throw new Error(`server ${serverId} manages the base layer and has no knowledge base of its own`);
      return await work(own);
    } finally {
      lease.release();
    }
  }

  /** Servers whose knowledge base is open now. */
  get openServers(): string[] {
    return [...this.entries.keys()];
  }

  private access(serverId: string | null): WriteAccess {
    return writeAccess(this.opts.policy, serverId, this.opts.joinedServers?.() ?? 0);
  }

  private withAccess(scope: Omit<ServerScope, 'access' | 'admin'>, access: WriteAccess, own?: KnowledgeAdmin): ServerScope {
    const admin = 'target' in access ? (access.target === 'base' ? this.opts.baseAdmin : own) : undefined;
    return { ...scope, access, ...(admin ? { admin } : {}) };
  }

  /** The shared/base scope, as seen from `serverId` (its questions are recorded with that server). */
  private baseScope(serverId: string | null): ServerScope {
    const scope = {
      serverId,
      reader: this.opts.base,
      store: this.baseQuestions,
      summaries: this.baseSummaries,
      managed: this.opts.baseAdmin,
    };
    const unavailable =
      serverId === null && this.opts.policy.scope === 'server' && !this.opts.policy.baseLayer
        ? 'Each server has its own knowledge base here, so I answer questions in servers only, not in direct messages.'
        : undefined;
    return { ...this.withAccess(scope, this.access(serverId)), ...(unavailable ? { unavailable } : {}) };
  }

  /**
   * What `serverId` reads and may change. In `server` scope this opens the server's own knowledge
   * base (created on first use); release the lease when done.
   */
  async acquire(serverId: string | null): Promise<ScopeLease> {
    if (this.closed) throw new Error('the server registry is closed');
    const access = this.access(serverId);
    // The shared knowledge base, a DM, or (server scope) an admin server, which manages the base layer.
    if (this.opts.policy.scope === 'shared' || serverId === null || ('target' in access && access.target === 'base')) {
      return { scope: this.baseScope(serverId), release: () => undefined };
    }
    if (!SERVER_ID.test(serverId)) throw new Error(`not a server id: ${JSON.stringify(serverId)}`);
    let entry = this.entries.get(serverId);
    if (!entry) {
      const created: Entry = { ready: this.openServer(serverId), refs: 0 };
      created.ready.catch(() => {
        if (this.entries.get(serverId) === created) this.entries.delete(serverId);
      });
      this.entries.set(serverId, created);
      entry = created;
    }
    entry.refs++;
    clearTimeout(entry.timer);
    let open: OpenServer;
    try {
      open = await entry.ready;
    } catch (error) {
      entry.refs--;
      throw error;
    }
    const held = entry;
    let released = false;
    return {
      scope: this.withAccess(open.scope, access, open.admin),
      release: () => {
        if (released) return;
        released = true;
        held.refs--;
        if (held.refs === 0 && this.entries.get(serverId) === held) {
          held.timer = setTimeout(() => void this.closeServer(serverId, held), this.opts.idleCloseMs ?? 10 * 60_000);
          held.timer.unref();
        }
      },
    };
  }

  /** Calls `listener` after every committed change of any server's own knowledge base. Returns an unsubscribe function. */
  onServerChange(listener: (serverId: string, event: ChangeEvent) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Runs `work` with the scope of `serverId`, releasing it afterwards. */
  async use<T>(serverId: string | null, work: (scope: ServerScope) => Promise<T>): Promise<T> {
    const lease = await this.acquire(serverId);
    try {
      return await work(lease.scope);
    } finally {
      lease.release();
    }
  }

  private async openServer(serverId: string): Promise<OpenServer> {
    await this.closing.get(serverId);
    const kb = await KnowledgeBase.open({
      ...this.opts.kbOptions,
      store: this.store,
      tenant: serverId,
      embedder: this.opts.embedder,
      onModelMismatch: 'stale',
      log: (line) => this.opts.log?.(`server ${serverId}: ${line}`),
    });
    kb.onChange((event) => {
      for (const listener of this.changeListeners) listener(serverId, event);
    });
    try {
      await this.store.servers.joined(serverId, this.now());
      const reader = new LayeredKnowledge({
        server: kb,
        ...(this.opts.policy.baseLayer ? { base: this.opts.base } : {}),
        maxQuestionChars: this.opts.kbOptions?.maxQuestionChars,
        compose: this.opts.kbOptions?.compose,
        fusion: this.opts.kbOptions?.fusion,
      });
      const admin = new KnowledgeAdmin({ ...this.opts.adminOptions, kb, limits: this.opts.limits });
      return {
        kb,
        admin,
        scope: {
          serverId,
          reader,
          store: kb.tenant.questions,
          summaries: new SummaryService({ kb: reader, embedder: this.opts.embedder }),
          managed: admin,
        },
      };
    } catch (error) {
      await kb.close();
      throw error;
    }
  }

  private async closeServer(serverId: string, entry: Entry, force = false): Promise<void> {
    if (entry.refs > 0 || this.entries.get(serverId) !== entry) return;
    // A moderator's Replace/Remove button still waiting does not keep it open: confirmations are in the store.
    this.entries.delete(serverId);
    const done = (async () => {
      try {
        const open = await entry.ready;
        await open.kb.close();
      } catch (error) {
        this.opts.log?.(`server ${serverId}: closing its knowledge base failed: ${(error as Error).message}`);
      }
    })();
    this.closing.set(serverId, done);
    await done;
    if (this.closing.get(serverId) === done) this.closing.delete(serverId);
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  // -------------------------------------------------------------------------------------------
  // Joining, leaving, retention
  // -------------------------------------------------------------------------------------------

  /** The bot is in this server (at start-up for each server, and when it joins one). */
  async joined(serverId: string): Promise<void> {
    await this.store.servers.joined(serverId, this.now());
  }

  /** The bot was removed from this server: its data is kept `retentionDays`, then purged. */
  async left(serverId: string): Promise<void> {
    await this.store.servers.left(serverId, this.now());
    this.opts.log?.(`left server ${serverId}: its data is kept ${this.retentionDays} days, then purged`);
  }

  /**
   * At start-up: every server the bot is in is marked joined; any server with data that it is no
   * longer in (removed while the bot was offline) starts its retention clock now.
   *
   * @param owns which servers this process can see (its gateway shards'): with shards in several
   *   processes, a server on another process's shard is not in `currentServerIds` and must not be
   *   taken for one the bot left. Default: every server.
   */
  async reconcile(currentServerIds: Iterable<string>, owns: (serverId: string) => boolean = () => true): Promise<void> {
    const current = new Set(currentServerIds);
    for (const id of current) await this.joined(id);
    const known = new Map((await this.store.servers.list()).map((r) => [r.serverId, r]));
    for (const id of new Set([...known.keys(), ...(await this.store.tenants())])) {
      if (!current.has(id) && owns(id) && !known.get(id)?.leftAt) await this.left(id);
    }
  }

  /** How many servers the directory says the bot is in (every process's shards, where one process sees only its own). */
  async joinedCount(): Promise<number> {
    return (await this.store.servers.list()).filter((r) => !r.leftAt).length;
  }

  get retentionDays(): number {
    return this.opts.retentionDays ?? 30;
  }

  /** Where the bot stands with a server (joined, left when). */
  serverStatus(serverId: string): Promise<ServerRow | undefined> {
    return this.store.servers.get(serverId);
  }

  /** Purges every server the bot left more than `retentionDays` ago. Returns the servers purged. */
  async purgeExpired(): Promise<string[]> {
    const cutoff = new Date(this.now().getTime() - this.retentionDays * 86_400_000);
    const purged: string[] = [];
    for (const row of await this.store.servers.leftBefore(cutoff)) {
      await this.purge(row.serverId, { actor: SYSTEM, reason: `the bot left on ${row.leftAt}, kept ${this.retentionDays} days` });
      purged.push(row.serverId);
    }
    return purged;
  }

  /**
   * Deletes everything the bot keeps for a server: its own knowledge base (articles, vectors,
   * summaries, questions, feedback, audit, confirmations) and its questions and votes in the
   * shared one. Leaves an audit line in the operator's knowledge base.
   */
  async purge(serverId: string, options: { actor?: Actor; reason: string }): Promise<{ articles: number; questions: number }> {
    if (!SERVER_ID.test(serverId)) throw new Error(`not a server id: ${JSON.stringify(serverId)}`);
    const entry = this.entries.get(serverId);
    if (entry && entry.refs > 0) throw new Error(`server ${serverId} is in use; try again when its questions are answered`);
    if (entry) await this.closeServer(serverId, entry, true);
    await this.closing.get(serverId);
    const own = await this.store.purgeTenant(serverId);
    const articles = own.articles;
    const questions = own.questions + (await this.baseQuestions.forgetServer(serverId));
    await this.store.servers.forget(serverId);
    await this.opts.base.recordAudit(options.actor ?? SYSTEM, [{ action: 'purge', details: { server: serverId, articles, questions, reason: options.reason } }]);
    this.opts.log?.(`purged server ${serverId}: ${articles} articles, ${questions} questions (${options.reason})`);
    return { articles, questions };
  }

  /** Blanks old question text everywhere: the shared knowledge base and every server's own (without opening their indexes). */
  forgetQuestionsOlderThan(days: number): Promise<number> {
    return this.store.forgetQuestionsOlderThan(days, this.now());
  }

  /** Closes every open server knowledge base (the base one belongs to the caller). */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, entry] of [...this.entries]) {
      clearTimeout(entry.timer);
      entry.refs = 0;
      await this.closeServer(id, entry, true);
    }
    await Promise.all(this.closing.values());
  }
}
