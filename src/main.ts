/**
 * npm start: with DISCORD_TOKEN set, the Discord bot; without it, the terminal chat.
 * Either way the index is built from the knowledge folder first if it is empty.
 */
import { ensureIndexed, openApp } from './app.js';
import { runChat } from './cli/chat.js';
import { runCli } from './cli/run.js';
import { createLlmClient } from './core/llm/client.js';
import { SummaryService } from './core/summarize/service.js';

await runCli(async (config, logger) => {
  const app = await openApp(config, logger);
  await ensureIndexed(app);
  if (config.discord.token) {
    const { startBot } = await import('./bot/client.js');
    const bot = await startBot(app);
    const shutdown = async (signal: string) => {
      logger.info(`${signal}: shutting down`);
      await bot.stop();
      await app.close();
      process.exit(process.exitCode ?? 0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    return;
  }
  try {
    await runChat(app.kb, process.stdin, process.stdout, new SummaryService({ kb: app.kb, embedder: app.embedder }), createLlmClient(config.llm));
  } finally {
    await app.close();
  }
});
