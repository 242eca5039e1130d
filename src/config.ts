import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Every setting, parsed once from the environment (and .env) into one typed object that is
 * passed down. The core never reads process.env. `.env.example` documents each one.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

const snowflake = z.string().regex(/^\d{17,20}$/, { message: 'must be a Discord id (17–20 digits)' });
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const schema = z.object({
  KNOWLEDGE_DIR: z.string().min(1).default('knowledge'),
  DATA_DIR: z.string().min(1).default('data'),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, { message: 'must be a PostgreSQL URL (postgres://user:password@host:5432/database), or empty for the files in DATA_DIR' })),
  EMBEDDING_MODEL: z.string().min(1).default('auto'),
  MODELS_DIR: z.string().min(1).default('models'),
  EMBEDDING_QUANTIZED: bool.default(true),
  MODEL_LOAD_TIMEOUT_MS: int(100, 600_000).default(8000),
  RERANK_MODEL: optional(z.string().trim().min(1)),
  READER_MODEL: optional(z.string().trim().min(1)),
  MAX_QUESTION_CHARS: int(10, 4000).default(1000),
  SENTENCE_VECTORS_AT_INGEST: bool.default(true),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  DISCORD_TOKEN: optional(z.string().min(20, { message: 'looks too short to be a bot token' })),
  DISCORD_CLIENT_ID: optional(snowflake),
  GUILD_ID: optional(snowflake),
  DISCORD_API_URL: optional(z.string().url({ message: 'must be a URL such as http://127.0.0.1:8080/api' })),
  ASK_COOLDOWN_SECONDS: z.coerce.number({ message: 'must be a number' }).min(0).max(3600).default(5),
  MAX_CONCURRENT_ANSWERS: int(1, 64).default(4),
  ANSWER_TIMEOUT_MS: int(1000, 600_000).default(20_000),
  DISCORD_MESSAGE_CONTENT_INTENT: bool.default(false),
  DISCORD_SHARDS: optional(z.union([z.literal('auto'), int(1, 10_000)], { message: 'must be auto or a number of shards' })),
  DISCORD_SHARD_PROCESSES: int(1, 64).default(1),
  HEALTH_PORT: optional(int(0, 65_535)),
  HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  KB_MODERATOR_ROLE_IDS: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(snowflake)),
  KB_LOG_CHANNEL_ID: optional(snowflake),
  KB_MAX_UPLOAD_BYTES: int(1024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  KB_SYNC_KNOWLEDGE_DIR: bool.default(true),
  KB_FETCH_ALLOWED_PORTS: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean).map(Number))
    .pipe(z.array(z.number().int().min(1, { message: 'ports are 1–65535' }).max(65_535, { message: 'ports are 1–65535' }))),
  KB_SCOPE: z.enum(['shared', 'server'], { message: 'must be shared or server' }).default('shared'),
  KB_ADMIN_GUILD_IDS: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(snowflake)),
  KB_BASE: z.enum(['knowledge', 'none'], { message: 'must be knowledge or none' }).default('knowledge'),
  KB_IDLE_CLOSE_MINUTES: z.coerce.number({ message: 'must be a number' }).min(0.05).max(1440).default(10),
  KB_MAX_ARTICLES_PER_SERVER: int(1, 1_000_000).default(500),
  KB_MAX_PASSAGES_PER_SERVER: int(1, 10_000_000).default(10_000),
  KB_RETENTION_DAYS: int(0, 3650).default(30),
  FEED_POLL_MINUTES: z.coerce.number({ message: 'must be a number' }).min(0).max(10_080).default(30),
  FEED_MAX_NEW_PER_POLL: int(1, 500).default(20),
  LLM_BASE_URL: optional(z.string().url({ message: 'must be a URL such as http://127.0.0.1:11434/v1' })),
  LLM_MODEL: optional(z.string().min(1)),
  LLM_API_KEY: optional(z.string()),
  LLM_TIMEOUT_MS: int(1000, 600_000).default(20_000),
  LLM_MAX_TOKENS: int(16, 8192).default(300),
  LLM_MAX_CONTEXT_CHARS: int(1000, 500_000).default(6000),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  knowledgeDir: string;
  dataDir: string;
  /** PostgreSQL (with pgvector) holding the knowledge bases instead of the files in `dataDir` (DATABASE_URL). */
  databaseUrl?: string;
  embedding: { model: string; modelsDir: string; quantized: boolean; loadTimeoutMs: number };
  /**
   * Optional answer-step models, loaded like the embedding model and run on its worker: a
   * cross-encoder that re-ranks the retrieved passages (RERANK_MODEL) and a question-answering
   * model whose answer span is shown in bold (READER_MODEL). Absent: off.
   */
  answerModels: { rerank?: string; reader?: string };
  maxQuestionChars: number;
  /** Embed every new passage's sentences at ingest, so answers never wait for them (SENTENCE_VECTORS_AT_INGEST). */
  sentenceVectorsAtIngest: boolean;
  log: { level: Env['LOG_LEVEL']; format: 'pretty' | 'json' };
  discord: {
    token?: string;
    clientId?: string;
    guildId?: string;
    apiUrl?: string;
    cooldownSeconds: number;
    maxConcurrent: number;
    answerTimeoutMs: number;
    /** The privileged Message Content intent is enabled in the portal: plain follow-ups in the bot's threads are answered. */
    messageContentIntent?: boolean;
    /** Gateway shards: 'auto' (Discord's recommendation) or a count; absent = one connection (or, with several processes, Discord's recommendation). */
    shards?: 'auto' | number;
    /** Processes the shards are spread over (DISCORD_SHARD_PROCESSES; above 1 only with DATABASE_URL). Default 1. */
    shardProcesses?: number;
  };
  /** The operator's HTTP endpoint (/healthz, /metrics); absent = off. */
  health?: { host: string; port: number };
  /** Moderating the knowledge base (`/kb`). */
  kb: {
    /** Roles whose members may use `/kb` besides those with Manage Server. */
    moderatorRoleIds: string[];
    /** Channel where every change is posted. */
    logChannelId?: string;
    /** Largest accepted upload (and fetched page), in bytes. */
    maxUploadBytes: number;
    /** Write articles added from Discord into KNOWLEDGE_DIR (and move removed ones to KNOWLEDGE_DIR/.trash). */
    syncKnowledgeDir: boolean;
    /** Ports `/kb add url:` and feeds may fetch from besides 80 and 443. */
    fetchAllowedPorts: number[];
    /** One knowledge base for every server (`shared`), or one per server over a base layer (`server`). */
    scope: 'shared' | 'server';
    /** Servers that manage the shared knowledge base / the base layer: KB_ADMIN_GUILD_IDS, else GUILD_ID. */
    adminGuildIds: string[];
    /** `server` scope: every server also answers from KNOWLEDGE_DIR's articles (KB_BASE=knowledge). */
    baseLayer: boolean;
    /** A server's knowledge base is closed after this many idle minutes. */
    idleCloseMinutes: number;
    maxArticlesPerServer: number;
    maxPassagesPerServer: number;
    /** Days a server's data is kept after the bot left it. */
    retentionDays: number;
  };
  /** Feed subscriptions (`/kb feed`, `npm run feeds`). */
  feeds: {
    /** Minutes between polls of a feed (jittered); 0 = the bot does not poll on its own (refresh by hand). */
    pollMinutes: number;
    /** New articles one poll of one feed indexes at most. */
    maxNewPerPoll: number;
  };
  /** Written answers from an OpenAI-compatible language model; absent (LLM_BASE_URL unset) = extractive answers only. */
  llm?: {
    baseUrl: string;
    model: string;
    /** Never logged. */
    apiKey?: string;
    timeoutMs: number;
    maxTokens: number;
    maxContextChars: number;
  };
}

/** A setting that could not be parsed; the message lists every bad value and what to write instead. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      const value = env[key];
      return `  ${key}=${value === undefined ? '(unset)' : JSON.stringify(value)}: ${i.message}`;
    });
    throw new ConfigError(`Invalid settings (see .env.example):\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.LLM_BASE_URL && !e.LLM_MODEL) {
    throw new ConfigError('Invalid settings (see .env.example):\n  LLM_MODEL=(unset): required when LLM_BASE_URL is set (the model name the server knows, e.g. llama3.1:8b)');
  }
  if (e.DISCORD_SHARD_PROCESSES > 1 && !e.DATABASE_URL) {
    throw new ConfigError(
      `Invalid settings (see .env.example):\n  DISCORD_SHARD_PROCESSES=${e.DISCORD_SHARD_PROCESSES}: shards in several processes must share one knowledge base in PostgreSQL: set DATABASE_URL (see "Running on PostgreSQL" in the README); DATA_DIR belongs to one process. Or run every shard in this process: DISCORD_SHARDS=auto (or a number) with DISCORD_SHARD_PROCESSES=1.`,
    );
  }
  return {
    knowledgeDir: resolve(e.KNOWLEDGE_DIR),
    dataDir: resolve(e.DATA_DIR),
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    embedding: { model: e.EMBEDDING_MODEL, modelsDir: resolve(e.MODELS_DIR), quantized: e.EMBEDDING_QUANTIZED, loadTimeoutMs: e.MODEL_LOAD_TIMEOUT_MS },
    answerModels: { ...(e.RERANK_MODEL ? { rerank: e.RERANK_MODEL } : {}), ...(e.READER_MODEL ? { reader: e.READER_MODEL } : {}) },
    maxQuestionChars: e.MAX_QUESTION_CHARS,
    sentenceVectorsAtIngest: e.SENTENCE_VECTORS_AT_INGEST,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json') },
    discord: {
      token: e.DISCORD_TOKEN,
      clientId: e.DISCORD_CLIENT_ID,
      guildId: e.GUILD_ID,
      apiUrl: e.DISCORD_API_URL,
      cooldownSeconds: e.ASK_COOLDOWN_SECONDS,
      maxConcurrent: e.MAX_CONCURRENT_ANSWERS,
      answerTimeoutMs: e.ANSWER_TIMEOUT_MS,
      messageContentIntent: e.DISCORD_MESSAGE_CONTENT_INTENT,
      ...(e.DISCORD_SHARDS !== undefined ? { shards: e.DISCORD_SHARDS } : {}),
      shardProcesses: e.DISCORD_SHARD_PROCESSES,
    },
    ...(e.HEALTH_PORT !== undefined ? { health: { host: e.HEALTH_HOST, port: e.HEALTH_PORT } } : {}),
    kb: {
      moderatorRoleIds: e.KB_MODERATOR_ROLE_IDS,
      logChannelId: e.KB_LOG_CHANNEL_ID,
      maxUploadBytes: e.KB_MAX_UPLOAD_BYTES,
      syncKnowledgeDir: e.KB_SYNC_KNOWLEDGE_DIR,
      fetchAllowedPorts: e.KB_FETCH_ALLOWED_PORTS,
      scope: e.KB_SCOPE,
      adminGuildIds: e.KB_ADMIN_GUILD_IDS.length > 0 ? e.KB_ADMIN_GUILD_IDS : e.GUILD_ID ? [e.GUILD_ID] : [],
      baseLayer: e.KB_BASE === 'knowledge',
      idleCloseMinutes: e.KB_IDLE_CLOSE_MINUTES,
      maxArticlesPerServer: e.KB_MAX_ARTICLES_PER_SERVER,
      maxPassagesPerServer: e.KB_MAX_PASSAGES_PER_SERVER,
      retentionDays: e.KB_RETENTION_DAYS,
    },
    feeds: { pollMinutes: e.FEED_POLL_MINUTES, maxNewPerPoll: e.FEED_MAX_NEW_PER_POLL },
    ...(e.LLM_BASE_URL
      ? {
          llm: {
            baseUrl: e.LLM_BASE_URL,
            model: e.LLM_MODEL!,
            apiKey: e.LLM_API_KEY,
            timeoutMs: e.LLM_TIMEOUT_MS,
            maxTokens: e.LLM_MAX_TOKENS,
            maxContextChars: e.LLM_MAX_CONTEXT_CHARS,
          },
        }
      : {}),
  };
}
