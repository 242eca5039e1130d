/**
 * Gateway shards across several processes (`DISCORD_SHARD_PROCESSES`, with the knowledge base in
 * PostgreSQL): this process starts one child per slice of shards, each a whole bot running its
 * slice with discord.js internal sharding; respawns a child that dies (with back-off); finishes
 * the interactions a dead child left open; and serves `/healthz` and `/metrics` for all of them.
 *
 * Why not discord.js's `ShardingManager`: it runs exactly one shard per process, and every process
 * of this bot holds an embedding model (~400 MB), so a bot with 16 shards would need 16 models.
 * Here 16 shards can run in 2 or 4 processes. Each child is Node's own `child_process.fork`, so the
 * IPC channel, exit codes and signals are the platform's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { DiscordAPIError, MessageFlags, REST, Routes, type RESTGetAPIGatewayBotResult } from 'discord.js';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { startHealthServer, type HealthReport, type HealthServer } from '../ops/health.js';
import { isChildMessage, planShardProcesses, SHARD_SLICE_ENV, type ChildMessage, type OpenInteraction, type ShardSlice } from './shards.js';

/** What a member sees on an interaction whose process died before it answered. */
export const INTERRUPTED_REPLY =
  'The bot was restarted before it could finish this. Please try again. (A `/kb` change is made completely or not at all: `/kb list` shows which.)';

export interface ShardSupervisorOptions {
  /** The script each shard process runs (`src/main.ts`); it gets this process's arguments and Node flags. */
  entry: string;
  token: string;
  /** DISCORD_API_URL (a proxy or the tests' fake Discord); default discord.com. */
  apiUrl?: string;
  /** DISCORD_SHARDS: a number, or 'auto' / unset for Discord's recommendation (at least one shard per process). */
  shards?: 'auto' | number;
  /** DISCORD_SHARD_PROCESSES. */
  processes: number;
  /** HEALTH_PORT / HEALTH_HOST: served here for every process. */
  health?: { host: string; port: number };
  logger: Logger;
  /** Environment of the children (default this process's). */
  env?: NodeJS.ProcessEnv;
  /** Wait between starting two processes: Discord lets a bot identify once per 5 s. Default 5,500 ms. */
  spawnDelayMs?: number;
  /** A process that is not ready this long after it started (model loading included) fails start-up. Default 120 s. */
  readyTimeoutMs?: number;
  /** First wait before respawning a process that died; doubles while it keeps dying, up to a minute. Default 1,000 ms. */
  respawnDelayMs?: number;
  /** How long `/healthz` and `/metrics` wait for a process's answer. Default 5,000 ms. */
  reportTimeoutMs?: number;
}

export interface ShardProcessView {
  index: number;
  pid?: number;
  shards: number[];
  up: boolean;
  restarts: number;
}

export interface SupervisedHealthReport extends HealthReport {
  processes: ShardProcessView[];
}

export interface ShardSupervisor {
  shardCount: number;
  /** The shards of each process, by process index. */
  plan: number[][];
  health?: HealthServer;
  processes(): ShardProcessView[];
  /** What `/healthz` reports: every process's shards, the store and the model. */
  checkHealth(): Promise<SupervisedHealthReport>;
  /** Stops every process (SIGTERM: each lets its answers finish, up to 5 s) and the endpoint. */
  stop(): Promise<void>;
}

const MAX_RESPAWN_DELAY_MS = 60_000;
/** A process that stayed up this long is healthy again: its next respawn waits the first delay. */
const STABLE_AFTER_MS = 60_000;

class ShardProcess {
  child?: ChildProcess;
  up = false;
  restarts = 0;
  failuresInARow = 0;
  startedAt = 0;
  /** Interactions the child has begun and not finished, by id. */
  readonly open = new Map<string, OpenInteraction>();
  private readonly waiting = new Map<number, (message: ChildMessage | undefined) => void>();

  constructor(
    readonly index: number,
    readonly slice: ShardSlice,
  ) {}

  view(): ShardProcessView {
    return { index: this.index, ...(this.child?.pid && this.up ? { pid: this.child.pid } : {}), shards: this.slice.ids, up: this.up, restarts: this.restarts };
  }

  answer(message: ChildMessage & { requestId: number }): void {
    this.waiting.get(message.requestId)?.(message);
  }

  /** Asks the child for its health report or metrics; undefined when it does not answer in time. */
  request(kind: 'health' | 'metrics', requestId: number, timeoutMs: number): Promise<ChildMessage | undefined> {
    const child = this.child;
    if (!child || !this.up || !child.connected) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const done = (message: ChildMessage | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        resolve(message);
      };
      this.waiting.set(requestId, done);
      child.send({ kind, requestId }, (error) => {
        if (error) done(undefined);
      });
    });
  }

  forgetRequests(): void {
    for (const done of [...this.waiting.values()]) done(undefined);
    this.waiting.clear();
  }
}

/** Discord's recommended shard count for the token (`GET /gateway/bot`), through DISCORD_API_URL when set. */
export async function recommendedShards(token: string, apiUrl?: string): Promise<number> {
  const rest = new REST(apiUrl ? { api: apiUrl } : {}).setToken(token);
  const gateway = (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
  return gateway.shards;
}

/**
 * Ends an interaction a dead process left open: answers it if it was never acknowledged (within
 * Discord's 3 s), replaces a reply still "thinking…", else adds an ephemeral follow-up.
 */
export async function finishInterrupted(rest: REST, open: OpenInteraction, content: string = INTERRUPTED_REPLY): Promise<'replied' | 'edited' | 'followed-up'> {
  const data = { content, allowed_mentions: { parse: [] } };
  try {
    await rest.post(Routes.interactionCallback(open.id, open.token), { body: { type: 4, data: { ...data, flags: MessageFlags.Ephemeral } }, auth: false });
    return 'replied';
  } catch (error) {
    if (!(error instanceof DiscordAPIError && error.code === 40060)) throw error; // 40060: already acknowledged
  }
  const original = (await rest.get(Routes.webhookMessage(open.applicationId, open.token, '@original'), { auth: false }).catch(() => undefined)) as { flags?: number } | undefined;
  if (original && ((original.flags ?? 0) & MessageFlags.Loading) !== 0) {
    await rest.patch(Routes.webhookMessage(open.applicationId, open.token, '@original'), { body: { ...data, embeds: [], components: [] }, auth: false });
    return 'edited';
  }
  await rest.post(Routes.webhook(open.applicationId, open.token), { body: { ...data, flags: MessageFlags.Ephemeral }, auth: false });
  return 'followed-up';
}

export async function startShardSupervisor(options: ShardSupervisorOptions): Promise<ShardSupervisor> {
  const { logger } = options;
  const shardCount =
    typeof options.shards === 'number' ? options.shards : Math.max(options.processes, await recommendedShards(options.token, options.apiUrl));
  const plan = planShardProcesses(shardCount, options.processes);
  if (plan.length < options.processes) {
    logger.warn({ shards: shardCount, processes: options.processes }, `DISCORD_SHARD_PROCESSES=${options.processes} but only ${shardCount} shards: running ${plan.length} processes, one shard each`);
  }
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {}).setToken(options.token);
  const registry = new Registry();
  const restarts = new Counter({ name: 'kbbot_shard_process_restarts_total', help: 'Shard processes respawned after they died, by process.', labelNames: ['process'], registers: [registry] });
  const slots = plan.map((ids, index) => new ShardProcess(index, { ids, count: shardCount }));
  new Gauge({
    name: 'kbbot_shard_process_up',
    help: 'Shard process is running and its bot is ready (1) or not (0), by process.',
    labelNames: ['process'],
    registers: [registry],
    collect() {
      for (const slot of slots) this.set({ process: String(slot.index) }, slot.up ? 1 : 0);
    },
  });
  for (const slot of slots) restarts.inc({ process: String(slot.index) }, 0);

  let stopping = false;
  let nextRequest = 1;
  const respawnTimers = new Set<NodeJS.Timeout>();
  const spawnDelayMs = options.spawnDelayMs ?? 5500;
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const firstRespawnMs = options.respawnDelayMs ?? 1000;
  const reportTimeoutMs = options.reportTimeoutMs ?? 5000;

  const finishOpenInteractions = (slot: ShardProcess) => {
    const open = [...slot.open.values()];
    slot.open.clear();
    for (const interaction of open) {
      finishInterrupted(rest, interaction).then(
        (how) => logger.info({ process: slot.index, interaction: interaction.id, how }, 'finished an interaction the dead shard process left open'),
        (error: unknown) => logger.warn({ err: error, process: slot.index, interaction: interaction.id }, 'could not finish an interaction the dead shard process left open'),
      );
    }
  };

  /** Starts the slot's child; resolves when its bot is ready, rejects if it exits first or takes too long. */
  const spawn = (slot: ShardProcess): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(options.entry, process.argv.slice(2), {
        env: { ...(options.env ?? process.env), [SHARD_SLICE_ENV]: JSON.stringify(slot.slice) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
      slot.child = child;
      slot.startedAt = Date.now();
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(new Error(`shard process ${slot.index} (shards ${slot.slice.ids.join(', ')}) was not ready after ${Math.round(readyTimeoutMs / 1000)} s`));
      }, readyTimeoutMs);
      child.on('message', (message: unknown) => {
        if (!isChildMessage(message)) return;
        switch (message.kind) {
          case 'ready':
            slot.up = true;
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              resolve();
            }
            return;
          case 'interaction-started':
            slot.open.set(message.interaction.id, message.interaction);
            return;
          case 'interaction-finished':
            slot.open.delete(message.id);
            return;
          default:
            slot.answer(message);
        }
      });
      child.on('error', (error) => logger.error({ err: error, process: slot.index }, 'shard process error'));
      child.on('exit', (code, signal) => {
        slot.up = false;
        slot.forgetRequests();
        clearTimeout(timer);
        finishOpenInteractions(slot);
        if (!settled) {
          settled = true;
          reject(new Error(`shard process ${slot.index} (shards ${slot.slice.ids.join(', ')}) exited before it was ready (${signal ?? `exit code ${code}`}); its log above says why`));
          return;
        }
        if (stopping) return;
        const stable = Date.now() - slot.startedAt >= STABLE_AFTER_MS;
        slot.failuresInARow = stable ? 0 : slot.failuresInARow + 1;
        const delay = Math.min(MAX_RESPAWN_DELAY_MS, firstRespawnMs * 2 ** slot.failuresInARow);
        logger.warn({ process: slot.index, shards: slot.slice.ids, code, signal, respawnInMs: delay }, 'shard process died; respawning it');
        const respawn = setTimeout(() => {
          respawnTimers.delete(respawn);
          if (stopping) return;
          slot.restarts++;
          restarts.inc({ process: String(slot.index) });
          spawn(slot).then(
            () => logger.info({ process: slot.index, shards: slot.slice.ids }, 'shard process respawned and ready'),
            (error: unknown) => logger.error({ err: error, process: slot.index }, 'respawned shard process did not become ready; trying again'),
          );
        }, delay);
        respawnTimers.add(respawn);
      });
    });

  const stopChildren = async () => {
    stopping = true;
    for (const timer of respawnTimers) clearTimeout(timer);
    await Promise.all(
      slots.map(async (slot) => {
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(forced);
      }),
    );
  };

  logger.info({ shards: shardCount, processes: plan.map((ids) => ids.join(',')) }, 'starting shard processes');
  try {
    for (const slot of slots) {
      if (slot.index > 0 && spawnDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, spawnDelayMs));
      await spawn(slot);
      logger.info({ process: slot.index, shards: slot.slice.ids, pid: slot.child?.pid }, 'shard process ready');
    }
  } catch (error) {
    await stopChildren();
    throw error;
  }

  const checkHealth = async (): Promise<SupervisedHealthReport> => {
    const answers = await Promise.all(slots.map((slot) => slot.request('health', nextRequest++, reportTimeoutMs)));
    const reports = answers.map((a) => (a?.kind === 'health' ? (a.report as Partial<HealthReport>) : undefined));
    const shards = slots.flatMap((slot, i) => reports[i]?.shards ?? slot.slice.ids.map((id) => ({ id, ready: false, status: -1, pingMs: -1, guilds: 0 })));
    const answered = reports.filter((r): r is Partial<HealthReport> => r !== undefined);
    const store = answered.find((r) => r.store && !r.store.ok)?.store ?? answered.find((r) => r.store)?.store ?? { ok: false, error: 'no shard process answered' };
    const model = answered.find((r) => r.model && !r.model.ok)?.model ?? answered.find((r) => r.model)?.model ?? { ok: false, model: 'unknown', error: 'no shard process answered' };
    const processes = slots.map((slot) => slot.view());
    const ok = processes.every((p) => p.up) && shards.every((s) => s.ready) && store.ok && model.ok;
    return { ok, processes, shards, store, model };
  };

  const metricsText = async (): Promise<string> => {
    const answers = await Promise.all(slots.map((slot) => slot.request('metrics', nextRequest++, reportTimeoutMs)));
    const perProcess = answers.flatMap((a) => (a?.kind === 'metrics' && Array.isArray(a.metrics) ? [a.metrics] : []));
    // Counters and histograms are summed over the processes; per-shard gauges carry their shard label.
    const merged = AggregatorRegistry.aggregate([...perProcess, await registry.getMetricsAsJSON()] as Parameters<typeof AggregatorRegistry.aggregate>[0]);
    return merged.metrics();
  };

  let health: HealthServer | undefined;
  if (options.health) {
    try {
      health = await startHealthServer({
        ...options.health,
        health: checkHealth,
        metrics: { contentType: registry.contentType, text: metricsText },
        log: (message, error) => logger.warn({ err: error }, message),
      });
      logger.info({ url: health.url }, 'health and metrics endpoint listening for every shard process (/healthz, /metrics)');
    } catch (error) {
      await stopChildren();
      throw new Error(`HEALTH_PORT=${options.health.port}: cannot listen on ${options.health.host} (${(error as Error).message}). Pick a free port or unset HEALTH_PORT.`, { cause: error });
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    shardCount,
    plan,
    ...(health ? { health } : {}),
    processes: () => slots.map((slot) => slot.view()),
    checkHealth,
    stop() {
      stopped ??= (async () => {
        await stopChildren();
        await health?.close();
        logger.info('shard processes stopped');
      })();
      return stopped;
    },
  };
}
