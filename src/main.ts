/**
 * npm start: with DISCORD_TOKEN set, the Discord bot; without it, the terminal chat.
 * Either way the index is built from the knowledge folder first if it is empty.
 *
 * With DISCORD_SHARD_PROCESSES above 1 this process is the shard supervisor: it builds the index
 * once if needed, then runs this same file once per slice of shards (KBBOT_SHARD_SLICE) and keeps
 * those processes running (src/bot/supervisor.ts).
 */
import { fileURLToPath } from 'node:url';
import { ensureIndexed, openApp } from './app.js';
import { sliceFromEnv } from './bot/shards.js';
import { runChat } from './cli/chat.js';
import { runCli } from './cli/run.js';
import type { Config } from './config.js';
import { createLlmClient } from './core/llm/client.js';
import { openKnowledgeStore } from './core/store/open.js';
import { SummaryService } from './core/summarize/service.js';
import type { Logger } from './logger.js';

await runCli(async (config, rootLogger) => {
  const slice = sliceFromEnv();
  if (config.discord.token && (config.discord.shardProcesses ?? 1) > 1 && !slice) {
    await superviseShards(config, rootLogger);
    return;
  }
  const logger = slice ? rootLogger.child({ shards: slice.ids }) : rootLogger;
  const app = await openApp(config, logger);
  await ensureIndexed(app);
  if (config.discord.token) {
    const { startBot } = await import('./bot/client.js');
    const link = slice ? (await import('./bot/shard-process.js')).supervisorLink() : undefined;
    const bot = await startBot(app, slice && link ? { shardSlice: slice, interactions: link.watcher } : {});
    link?.attach(bot);
    const shutdown = async (signal: string) => {
      logger.info(`${signal}: shutting down`);
      await bot.stop();
      await app.close();
      process.exit(process.exitCode ?? 0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    // The supervisor is gone (killed): nobody would restart or stop this process any more.
    if (slice) process.once('disconnect', () => void shutdown('supervisor gone'));
    return;
  }
  try {
    await runChat(app.kb, process.stdin, process.stdout, new SummaryService({ kb: app.kb, embedder: app.embedder }), createLlmClient(config.llm));
  } finally {
    await app.close();
  }
});

/** DISCORD_SHARD_PROCESSES > 1: this process starts and watches the shard processes. */
async function superviseShards(config: Config, logger: Logger): Promise<void> {
  // Build the index once, here, before several processes could each try to.
  const store = await openKnowledgeStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const empty = await store.open(null).then(async (tenant) => {
    try {
      return (await tenant.state()).passages === 0;
    } finally {
      await tenant.close();
    }
  });
  await store.close();
  if (empty) {
    const app = await openApp(config, logger);
    try {
      await ensureIndexed(app);
    } finally {
      await app.close();
    }
  }
  const { startShardSupervisor } = await import('./bot/supervisor.js');
  const supervisor = await startShardSupervisor({
    entry: fileURLToPath(import.meta.url),
    token: config.discord.token!,
    apiUrl: config.discord.apiUrl,
    shards: config.discord.shards,
    processes: config.discord.shardProcesses ?? 1,
    health: config.health,
    logger,
  });
  const shutdown = async (signal: string) => {
    logger.info(`${signal}: stopping the shard processes`);
    await supervisor.stop();
    process.exit(process.exitCode ?? 0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
