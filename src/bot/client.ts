import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, type ClientOptions, type Interaction } from 'discord.js';
import { createAdmin, createServerRegistry, type App } from '../app.js';
import type { AuditEntry } from '../core/admin/index.js';
import { createLlmClient, type ChatClient } from '../core/llm/client.js';
import { FeedPoller } from '../core/feeds/index.js';
import { registryTenants } from '../core/feeds/tenants.js';
import type { FetchOptions } from '../core/load/fetch-url.js';
import { postAnnouncement } from './kb/feeds.js';
import { renderAuditLog } from './kb/render.js';
import type { TenancyPolicy } from '../core/servers/policy.js';
import type { ServerRegistry } from '../core/servers/registry.js';
import { SummaryService } from '../core/summarize/service.js';
import { cached, startHealthServer, type HealthReport, type HealthServer } from '../ops/health.js';
import { BotMetrics, type ShardView } from '../ops/metrics.js';
import { ConcurrencyLimiter, Cooldown } from './limits.js';
import { handleMessage } from './messages.js';
import { shardOf, type ShardSlice } from './shards.js';
import { defaultRegistry, handleInteraction, type Registry } from './router.js';
import type { BotContext, BotSettings } from './types.js';

/** Question and answer texts are kept this long for the buttons and thread history, then blanked (counts stay). */
export const QUESTION_TEXT_RETENTION_DAYS = 90;

/** How often the bot forgets old question text and purges the data of servers it left long ago. */
export const HOUSEKEEPING_INTERVAL_MS = 24 * 60 * 60_000;

/** How long `stop()` waits for answers in progress before disconnecting. */
const STOP_GRACE_MS = 5000;

export interface StartBotOptions {
  /** Summary service for `/summary` (default: one on the app's kb and embedder). */
  summaries?: SummaryService;
  /**
   * Language model for written answers (default: one from `config.llm`, i.e. `LLM_BASE_URL`, or
   * none when that is unset); `null`: extractive answers only.
   */
  llm?: ChatClient | null;
  /** Commands and buttons (default: `src/bot/commands/index.ts`). */
  registry?: Registry;
  /** Overrides of `config.discord` settings. */
  settings?: Partial<BotSettings>;
  /** Extra discord.js client options (tests). */
  clientOptions?: Partial<ClientOptions>;
  /**
   * FOR TESTS ONLY: fetcher options of the feed poller (a feed server on 127.0.0.1 needs
   * `allowPrivateAddresses`) and how often it looks for due feeds (default one minute).
   */
  feeds?: { fetch?: FetchOptions; tickMs?: number };
  /**
   * This process runs only these gateway shards (a child of the shard supervisor,
   * DISCORD_SHARD_PROCESSES): the client connects them alone, servers on other shards are left to
   * their process, and daily housekeeping runs only in the process that has shard 0. The
   * supervisor serves /healthz and /metrics for every process (`RunningBot.checkHealth`).
   */
  shardSlice?: ShardSlice;
  /** Told when an interaction starts and when its handler is done (the supervisor finishes those a dying process leaves open). */
  interactions?: InteractionWatcher;
}

export interface InteractionWatcher {
  started(interaction: Interaction): void;
  finished(interaction: Interaction): void;
}

export interface RunningBot {
  client: Client<true>;
  context: BotContext;
  /** The operator's endpoint (/healthz, /metrics), when HEALTH_PORT is set. */
  health?: HealthServer;
  /** What `/healthz` reports for this process: its shards, the store, the model. */
  checkHealth(): Promise<HealthReport>;
  /** Stops taking new questions, lets answers in progress finish (up to 5 s), disconnects, closes the store. */
  stop(): Promise<void>;
}

export function botSettings(app: Pick<App, 'config'>, overrides: Partial<BotSettings> = {}): BotSettings {
  const d = app.config.discord;
  return {
    cooldownSeconds: d.cooldownSeconds,
    maxConcurrent: d.maxConcurrent,
    answerTimeoutMs: d.answerTimeoutMs,
    messageContentIntent: d.messageContentIntent ?? false,
    maxQuestionChars: app.config.maxQuestionChars,
    kbModeratorRoleIds: app.config.kb?.moderatorRoleIds ?? [],
    kbLogChannelId: app.config.kb?.logChannelId,
    feedPollMinutes: app.config.feeds?.pollMinutes,
    ...overrides,
  };
}

/** Gateway intents: Guilds + GuildMessages, plus the privileged MessageContent only when enabled. */
export function botIntents(settings: Pick<BotSettings, 'messageContentIntent'>): GatewayIntentBits[] {
  const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages];
  if (settings.messageContentIntent) intents.push(GatewayIntentBits.MessageContent);
  return intents;
}

/**
 * Logs in to Discord and serves `/ask`, the context-menu command, mentions and thread follow-ups.
 * Resolves once the client is ready. It registers no commands (that is `npm run register`).
 */
export async function startBot(app: App, options: StartBotOptions = {}): Promise<RunningBot> {
  const { config } = app;
  const token = config.discord.token;
  if (!token) throw new Error('DISCORD_TOKEN is not set: the Discord bot cannot log in (see .env.example).');
  const logger = app.logger.child({ module: 'discord' });
  const settings = botSettings(app, options.settings);
  const registry = options.registry ?? defaultRegistry;

  // Questions and feedback of the shared knowledge base and of DMs: the base tenant's.
  const store = app.kb.tenant.questions;
  const baseAdmin = app.admin ?? createAdmin(config, app.kb, (line) => logger.info(line));
  const baseSummaries = options.summaries ?? new SummaryService({ kb: app.kb, embedder: app.embedder });
  // Filled in once the client exists: how many servers the bot is in decides its home server.
  let joinedServers = () => 0;
  const slice = options.shardSlice;
  const ownsServer = slice ? (serverId: string) => slice.ids.includes(shardOf(serverId, slice.count)) : () => true;
  const servers = createServerRegistry(app, { baseAdmin, baseSummaries, joinedServers: () => joinedServers() });

  const ctx: BotContext = {
    kb: app.kb,
    servers,
    logger,
    settings,
    store,
    cooldown: new Cooldown(settings.cooldownSeconds, {
      store: app.kb.store.cooldowns,
      onError: (error) => logger.warn({ err: error }, 'cooldown store failed or was too slow; the question was let through'),
    }),
    limiter: new ConcurrencyLimiter(settings.maxConcurrent),
    admin: baseAdmin,
    summaries: baseSummaries,
  };
  const llm = options.llm === undefined ? createLlmClient(config.llm) : (options.llm ?? undefined);
  if (llm) ctx.llm = llm;

  const client = new Client({
    intents: botIntents(settings),
    ...(slice ? { shards: slice.ids, shardCount: slice.count } : shardOptions(config.discord.shards)),
    // Belt and braces: every payload sets allowedMentions too.
    allowedMentions: { parse: [], repliedUser: false },
    ...(config.discord.apiUrl ? { rest: { api: config.discord.apiUrl } } : {}),
    ...options.clientOptions,
  });
  // One process sees only its own shards' servers: the bot's count is then the server directory's,
  // refreshed when a server comes or goes and every minute (another process's joins).
  let directoryCount = 0;
  const countServers = async () => {
    directoryCount = await servers.joinedCount();
  };
  joinedServers = slice ? () => directoryCount : () => client.guilds.cache.size;
  const metrics = new BotMetrics({
    shards: () => shardViews(client),
    openServers: () => servers.openServers.length,
    embeddingQueue: () => app.embedder.queuedTexts ?? 0,
  });
  ctx.metrics = metrics;
  const feeds = new FeedPoller({
    tenants: registryTenants(servers),
    settings: {
      pollMinutes: config.feeds.pollMinutes || undefined,
      maxNewPerPoll: config.feeds.maxNewPerPoll,
      fetch: { maxBytes: config.kb.maxUploadBytes, allowedPorts: config.kb.fetchAllowedPorts, ...options.feeds?.fetch },
    },
    tickMs: options.feeds?.tickMs,
    announce: (announcement) => postAnnouncement(client, servers.policy, announcement),
    onPoll: (report) => metrics.observeFeedPoll(report),
    log: (line, error) => (error ? logger.warn({ err: error }, line) : logger.info(line)),
  });
  ctx.feeds = feeds;
  const stopMetering = [app.kb.onChange((event) => metrics.observeChange(event)), servers.onServerChange((_, event) => metrics.observeChange(event))];

  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const watcher = options.interactions;
  client.on(Events.InteractionCreate, (interaction) => {
    if (stopping) return;
    watcher?.started(interaction);
    const handled = handleInteraction(interaction, ctx, registry);
    track(watcher ? handled.finally(() => watcher.finished(interaction)) : handled);
  });
  client.on(Events.MessageCreate, (message) => {
    if (stopping) return;
    track(
      handleMessage(message, ctx).catch((error: unknown) => {
        logger.error({ err: error, guildId: message.guildId, userId: message.author.id }, 'message handler failed');
      }),
    );
  });
  // Every change of the operator's knowledge base (and every purge) is posted to the log channel,
  // when set. A server's own changes stay in that server's audit trail.
  const stopAuditLog = settings.kbLogChannelId
    ? baseAdmin.onAudit((entries) => track(postAuditLog(client, settings.kbLogChannelId!, entries, logger)))
    : () => undefined;

  client.on(Events.GuildCreate, (guild) => {
    track(
      servers
        .joined(guild.id)
        .then(() => (slice ? countServers() : undefined))
        .catch((error) => logger.warn({ err: error, guild: guild.id }, 'could not record joining a server')),
    );
    if (client.isReady()) warnIfHomeless(servers.policy, joinedServers(), logger);
  });
  client.on(Events.GuildDelete, (guild) => {
    if (stopping) return;
    track(
      servers
        .left(guild.id)
        .then(() => (slice ? countServers() : undefined))
        .catch((error) => logger.warn({ err: error, guild: guild.id }, 'could not record leaving a server')),
    );
  });

  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn(message));
  client.on(Events.ShardDisconnect, (event, shard) => {
    if (!stopping) logger.warn({ code: event.code, shard }, 'gateway disconnected');
  });
  client.on(Events.ShardReconnecting, (shard) => {
    if (!stopping) logger.info({ shard }, 'gateway reconnecting');
  });
  client.on(Events.ShardResume, (shard, replayed) => logger.info({ shard, replayed }, 'gateway resumed'));

  let housekeeping: NodeJS.Timeout | undefined;
  let recount: NodeJS.Timeout | undefined;
  let health: HealthServer | undefined;
  const closeStore = async () => {
    clearInterval(housekeeping);
    clearInterval(recount);
    await feeds.stop();
    for (const stop of stopMetering) stop();
    await health?.close();
    stopAuditLog();
    await servers.close();
  };

  try {
    const ready = once(client, Events.ClientReady);
    ready.catch(() => undefined); // observed below; a late 'error' event must not become an unhandled rejection
    await client.login(token);
    await ready;
  } catch (error) {
    await client.destroy();
    await closeStore();
    if (error instanceof Error && ((error as { code?: unknown }).code === 'DisallowedIntents' || /disallowed intent|privileged intent/i.test(error.message))) {
      throw new Error(
        'Discord refused the Message Content intent: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the developer portal, or set DISCORD_MESSAGE_CONTENT_INTENT=false.',
        { cause: error },
      );
    }
    throw error;
  }
  const readyClient = client as Client<true>;
  await servers.reconcile(readyClient.guilds.cache.keys(), ownsServer);
  if (slice) {
    await countServers();
    recount = setInterval(() => track(countServers().catch((error) => logger.warn({ err: error }, 'could not count the servers the bot is in'))), 60_000);
    recount.unref();
  }
  warnIfHomeless(servers.policy, joinedServers(), logger);
  // One process keeps house for all (two purging the same server at once would race).
  if (!slice || slice.ids.includes(0)) {
    const keepHouse = () => track(housekeep(servers, logger));
    keepHouse();
    housekeeping = setInterval(keepHouse, settings.housekeepingIntervalMs ?? HOUSEKEEPING_INTERVAL_MS);
    housekeeping.unref();
  }
  if (config.feeds.pollMinutes > 0) feeds.start();
  const checkHealth = healthCheck(readyClient, app, settings.healthProbeIntervalMs ?? 15_000);
  // Under the supervisor, the supervisor serves HEALTH_PORT for every process.
  if (config.health && !slice) {
    try {
      health = await startHealthServer({
        ...config.health,
        metrics,
        health: checkHealth,
        log: (message, error) => logger.warn({ err: error }, message),
      });
      logger.info({ url: health.url }, 'health and metrics endpoint listening (/healthz, /metrics)');
    } catch (error) {
      await readyClient.destroy();
      await closeStore();
      throw new Error(`HEALTH_PORT=${config.health.port}: cannot listen on ${config.health.host} (${(error as Error).message}). Pick a free port or unset HEALTH_PORT.`, { cause: error });
    }
  }
  logger.info(
    {
      user: readyClient.user.tag,
      guilds: readyClient.guilds.cache.size,
      ...(slice ? { shards: slice.ids, shardCount: slice.count } : {}),
      messageContentIntent: settings.messageContentIntent,
      cooldownSeconds: settings.cooldownSeconds,
      maxConcurrent: settings.maxConcurrent,
      // The model's name only: never the server's URL or key.
      writtenAnswers: ctx.llm ? ctx.llm.model : false,
    },
    'Discord bot ready',
  );

  let stopped: Promise<void> | undefined;
  return {
    client: readyClient,
    context: ctx,
    ...(health ? { health } : {}),
    checkHealth,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (inFlight.size > 0) {
          logger.info({ inFlight: inFlight.size }, 'waiting for answers in progress');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.allSettled([...inFlight]),
            new Promise((resolve) => {
              timer = setTimeout(resolve, STOP_GRACE_MS);
            }),
          ]);
          clearTimeout(timer);
        }
        await client.destroy();
        await closeStore();
        logger.info('Discord bot stopped');
      })();
      return stopped;
    },
  };
}

/**
 * With one knowledge base for every server and no managing server named, a bot in more than one
 * server accepts no `/kb` changes: say so where the operator looks.
 */
function warnIfHomeless(policy: TenancyPolicy, servers: number, logger: App['logger']): void {
  if (policy.scope !== 'shared' || policy.adminServerIds.length > 0 || servers <= 1) return;
  logger.warn(
    { servers },
    'the bot is in several servers and KB_ADMIN_GUILD_IDS (or GUILD_ID) is not set: /kb changes are refused everywhere. Name the server that manages the knowledge base, or set KB_SCOPE=server for a knowledge base per server.',
  );
}

/** Daily: blank old question text (shared store and every server's) and purge servers left long ago. */
async function housekeep(servers: ServerRegistry, logger: App['logger']): Promise<void> {
  try {
    const forgotten = await servers.forgetQuestionsOlderThan(QUESTION_TEXT_RETENTION_DAYS);
    if (forgotten > 0) logger.info({ forgotten }, `forgot the text of questions older than ${QUESTION_TEXT_RETENTION_DAYS} days`);
    const purged = await servers.purgeExpired();
    if (purged.length > 0) logger.info({ purged }, `purged the data of servers the bot left more than ${servers.retentionDays} days ago`);
  } catch (error) {
    logger.warn({ err: error }, 'housekeeping (question retention, server purge) failed');
  }
}

/** discord.js sharding options: every shard in this process ('auto': as many as Discord recommends). */
function shardOptions(shards: 'auto' | number | undefined): Partial<ClientOptions> {
  if (shards === undefined) return {};
  if (shards === 'auto') return { shards: 'auto' };
  return { shards: Array.from({ length: shards }, (_, i) => i), shardCount: shards };
}

/** Each gateway shard of this process: status, heartbeat ping and its servers. */
function shardViews(client: Client): ShardView[] {
  return [...client.ws.shards.values()].map((shard) => ({
    id: shard.id,
    status: shard.status,
    ping: shard.ping,
    guilds: client.guilds.cache.filter((g) => g.shardId === shard.id).size,
  }));
}

/** What `/healthz` checks: every shard connected, the store answering, the model embedding (probed at most every `probeIntervalMs`). */
function healthCheck(client: Client<true>, app: App, probeIntervalMs: number): () => Promise<HealthReport> {
  const probeModel = cached(async (): Promise<HealthReport['model']> => {
    const model = app.embedder.info.model;
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      });
      const [vector] = await Promise.race([app.embedder.embed(['health check']), timeout]).finally(() => clearTimeout(timer));
      return vector?.length === app.embedder.info.dimension ? { ok: true, model } : { ok: false, model, error: 'wrong vector size' };
    } catch (error) {
      return { ok: false, model, error: (error as Error).message };
    }
  }, probeIntervalMs);
  return async () => {
    const shards = shardViews(client).map((s) => ({ id: s.id, ready: s.status === 0, status: s.status, pingMs: s.ping, guilds: s.guilds }));
    let store: HealthReport['store'];
    try {
      store = { ok: true, articles: (await app.kb.tenant.state()).articles };
    } catch (error) {
      store = { ok: false, error: (error as Error).message };
    }
    const model = await probeModel();
    return { ok: shards.length > 0 && shards.every((s) => s.ready) && store.ok && model.ok, shards, store, model };
  };
}

/** Posts audit entries to the log channel; failures are logged, never thrown. */
async function postAuditLog(client: Client, channelId: string, entries: AuditEntry[], logger: App['logger']): Promise<void> {
  try {
    const channel = await client.channels.fetch(channelId);
    if (!channel || !channel.isSendable()) {
      logger.warn({ channelId }, 'KB_LOG_CHANNEL_ID is not a channel the bot can post in');
      return;
    }
    await channel.send(renderAuditLog(entries));
  } catch (error) {
    logger.warn({ err: error, channelId }, 'could not post to the knowledge-base log channel');
  }
}
