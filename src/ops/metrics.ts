/**
 * What an operator scrapes from `/metrics` (Prometheus text format, through prom-client): questions
 * and how they ended, answer latency, the embedding queue, ingest counters, and per-shard gateway
 * ping and guild counts. One registry per running bot, so tests and several bots in one process
 * never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PollReport } from '../core/feeds/poll.js';
import type { ChangeEvent } from '../core/knowledge-base.js';

export interface ShardView {
  id: number;
  /** discord.js WebSocketShard status (0 = ready). */
  status: number;
  /** Heartbeat round trip in ms (-1 before the first). */
  ping: number;
  guilds: number;
}

export class BotMetrics {
  readonly registry = new Registry();
  private readonly questions: Counter<'outcome'>;
  private readonly answerSeconds: Histogram<'outcome'>;
  private readonly ingestArticles: Counter<'action'>;
  private readonly ingestPassages: Counter;
  private readonly feedPolls: Counter<'result'>;
  private readonly feedArticles: Counter<'change'>;
  private readonly feedPassages: Counter;
  constructor(options: { shards?: () => ShardView[]; openServers?: () => number; embeddingQueue?: () => number; defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'kbbot_' });
    this.questions = new Counter({ name: 'kbbot_questions_total', help: 'Questions handled, by outcome (answered, no-answer, timeout, error, rejected).', labelNames: ['outcome'], registers });
    this.answerSeconds = new Histogram({
      name: 'kbbot_answer_seconds',
      help: 'Time from a question to its final answer (queue, retrieval, composition, language model), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    });
    this.ingestArticles = new Counter({ name: 'kbbot_ingest_articles_total', help: 'Articles added, replaced or removed, by action.', labelNames: ['action'], registers });
    this.ingestPassages = new Counter({ name: 'kbbot_ingest_passages_total', help: 'Passages written by adds and replacements.', registers });
    this.feedPolls = new Counter({
      name: 'kbbot_feed_polls_total',
      help: 'Polls of feeds and sitemaps, by result: ok (read, changed), unchanged (304 or same document), error (could not be read), busy (another poller held it).',
      labelNames: ['result'],
      registers,
    });
    this.feedArticles = new Counter({ name: 'kbbot_feed_articles_total', help: 'Articles that feed polls added (new entries) or updated (changed entries).', labelNames: ['change'], registers });
    this.feedPassages = new Counter({ name: 'kbbot_feed_passages_embedded_total', help: 'Passages feed polls had to embed (unchanged paragraphs keep their vectors).', registers });
    // Present from the start, so a rate over them is defined before the first poll.
    for (const result of ['ok', 'unchanged', 'error', 'busy']) this.feedPolls.inc({ result }, 0);
    for (const change of ['added', 'updated']) this.feedArticles.inc({ change }, 0);
    if (options.embeddingQueue) {
      const queued = options.embeddingQueue;
      new Gauge({
        name: 'kbbot_embedding_queue_texts',
        help: 'Texts waiting to be embedded or being embedded (questions and ingest).',
        registers,
        collect() {
          this.set(queued());
        },
      });
    }
    if (options.openServers) {
      const open = options.openServers;
      new Gauge({
        name: 'kbbot_open_server_knowledge_bases',
        help: "Servers whose own knowledge base is open now (KB_SCOPE=server; idle ones are closed).",
        registers,
        collect() {
          this.set(open());
        },
      });
    }
    if (options.shards) {
      const shards = options.shards;
      const each = (name: string, help: string, value: (s: ShardView) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['shard'],
          registers,
          collect() {
            this.reset();
            for (const s of shards()) this.set({ shard: String(s.id) }, value(s));
          },
        });
      each('kbbot_shard_up', 'Gateway connection of the shard is ready (1) or not (0).', (s) => (s.status === 0 ? 1 : 0));
      each('kbbot_shard_ping_seconds', 'Gateway heartbeat round trip of the shard.', (s) => (s.ping >= 0 ? s.ping / 1000 : NaN));
      each('kbbot_shard_guilds', 'Servers on the shard.', (s) => s.guilds);
    }
  }

  observeQuestion(outcome: string, ms: number): void {
    this.questions.inc({ outcome });
    this.answerSeconds.observe({ outcome }, ms / 1000);
  }

  /** Counts the articles and passages of a committed change (from `KnowledgeBase.onChange`). */
  observeChange(event: Pick<ChangeEvent, 'audit'>): void {
    for (const entry of event.audit) {
      if (entry.action !== 'add' && entry.action !== 'replace' && entry.action !== 'remove') continue;
      this.ingestArticles.inc({ action: entry.action });
      const passages = Number(entry.details?.passages ?? 0);
      if (entry.action !== 'remove' && passages > 0) this.ingestPassages.inc(passages);
    }
  }

  /** Counts one poll of a feed (`FeedPoller`'s `onPoll`). */
  observeFeedPoll(report: Pick<PollReport, 'result' | 'added' | 'updated' | 'embedded'>): void {
    this.feedPolls.inc({ result: report.result });
    if (report.added.length > 0) this.feedArticles.inc({ change: 'added' }, report.added.length);
    if (report.updated > 0) this.feedArticles.inc({ change: 'updated' }, report.updated);
    if (report.embedded > 0) this.feedPassages.inc(report.embedded);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
