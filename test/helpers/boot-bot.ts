/**
 * A bot for end-to-end tests: the real discord.js Client (startBot) against a fresh fake Discord,
 * a real knowledge base (HashEmbedder, SQLite) in its own temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Level, type Logger } from 'pino';
import type { App } from '../../src/app.js';
import { startBot, type RunningBot, type StartBotOptions } from '../../src/bot/client.js';
import { loadConfig } from '../../src/config.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import type { RawArticle } from '../../src/core/types.js';
import { FakeDiscord, type FakeDiscordOptions } from './fake-discord.js';
import { HashEmbedder } from './hash-embedder.js';
import { openSeedKnowledgeCopy } from './seed-knowledge.js';

/** A member's permissions: View Channel, Send Messages, Use Application Commands. */
export const MEMBER_PERMS = (1n << 10n) | (1n << 11n) | (1n << 31n);
/** Manage Server: what moderation (/kb) asks for. */
export const MANAGE_GUILD = 1n << 5n;
export const MOD_PERMS = MEMBER_PERMS | MANAGE_GUILD;

/** The server the multi-server tests treat as the knowledge base's owner, and a second one. */
export const HOME_GUILD = '100000000000000001';
export const OTHER_GUILD = '200000000000000002';

/** A fake Discord with the home server and `others`, each named after the start of its id. */
export function homeAndOtherServers(others: string[]): FakeDiscordOptions {
  return { guildId: HOME_GUILD, guildName: 'Home Newsroom', guilds: others.map((id) => ({ id, name: `Server ${id.slice(0, 3)}` })) };
}

export type BotKnowledge =
  /** Ingested as given; the knowledge base lives directly in the temporary directory. */
  | { articles: RawArticle[] }
  /** A copy of the repository's knowledge folder as KNOWLEDGE_DIR (openSeedKnowledgeCopy), for moderation. */
  | 'seed folder copy';

export interface BootBotOptions {
  /** Prefix of the temporary directory, so a leftover one names its test. */
  tempPrefix: string;
  knowledge: BotKnowledge;
  discord?: FakeDiscordOptions;
  /** GUILD_ID = the fake's home server: the server commands are registered to, and by default the one that manages the knowledge base. */
  setGuildId?: boolean;
  /** Added to (and overriding) the configuration the harness needs. */
  env?: Record<string, string>;
  /** Default: silent. */
  logger?: Logger;
  /** What the bot is given as its knowledge base; tests can intercept calls while keeping `kb` real. */
  kbForBot?: (kb: KnowledgeBase) => KnowledgeBase;
  start?: StartBotOptions | ((kb: KnowledgeBase, embedder: HashEmbedder) => StartBotOptions);
}

export interface BootedBot {
  fake: FakeDiscord;
  bot: RunningBot;
  kb: KnowledgeBase;
  embedder: HashEmbedder;
  dir: string;
  /** Stops the bot, closes the fake and the knowledge base, deletes the directory. */
  stop(): Promise<void>;
}

export async function bootBot(options: BootBotOptions): Promise<BootedBot> {
  const fake = await FakeDiscord.start(options.discord);
  const embedder = new HashEmbedder();
  const { dir, kb, locations } = await openKnowledge(options.tempPrefix, options.knowledge, embedder);
  const config = loadConfig({
    ...locations,
    DISCORD_TOKEN: fake.token,
    DISCORD_CLIENT_ID: fake.applicationId,
    ...(options.setGuildId ? { GUILD_ID: fake.guildId } : {}),
    DISCORD_API_URL: fake.apiUrl,
    ASK_COOLDOWN_SECONDS: '0',
    ...options.env,
  });
  const logger = options.logger ?? pino({ level: 'silent' });
  const app: App = { config, logger, embedder, kb: options.kbForBot?.(kb) ?? kb, close: async () => kb.close() };
  const startOptions = typeof options.start === 'function' ? options.start(kb, embedder) : (options.start ?? {});
  const bot = await startBot(app, startOptions);
  return {
    fake,
    bot,
    kb,
    embedder,
    dir,
    async stop() {
      await bot.stop();
      await fake.close();
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openKnowledge(tempPrefix: string, knowledge: BotKnowledge, embedder: HashEmbedder): Promise<{ dir: string; kb: KnowledgeBase; locations: Record<string, string> }> {
  if (knowledge === 'seed folder copy') {
    const copy = await openSeedKnowledgeCopy(tempPrefix, embedder);
    return { dir: copy.dir, kb: copy.kb, locations: { DATA_DIR: copy.dataDir, KNOWLEDGE_DIR: copy.knowledge } };
  }
  const dir = mkdtempSync(join(tmpdir(), tempPrefix));
  const kb = await KnowledgeBase.open({ dataDir: dir, embedder });
  await kb.ingest(knowledge.articles);
  return { dir, kb, locations: { DATA_DIR: dir } };
}

/** A logger at `level` whose lines are kept, parsed, for assertions. */
export function capturedJsonLogger(level: Level): { logger: Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  return { logger, logs };
}
