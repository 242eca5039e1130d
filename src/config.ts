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
  EMBEDDING_MODEL: z.string().min(1).default('auto'),
  MODELS_DIR: z.string().min(1).default('models'),
  EMBEDDING_QUANTIZED: bool.default(true),
  MODEL_LOAD_TIMEOUT_MS: int(100, 600_000).default(8000),
  MAX_QUESTION_CHARS: int(10, 4000).default(1000),
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
});

export type Env = z.infer<typeof schema>;

export interface Config {
  knowledgeDir: string;
  dataDir: string;
  embedding: { model: string; modelsDir: string; quantized: boolean; loadTimeoutMs: number };
  maxQuestionChars: number;
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
  return {
    knowledgeDir: resolve(e.KNOWLEDGE_DIR),
    dataDir: resolve(e.DATA_DIR),
    embedding: { model: e.EMBEDDING_MODEL, modelsDir: resolve(e.MODELS_DIR), quantized: e.EMBEDDING_QUANTIZED, loadTimeoutMs: e.MODEL_LOAD_TIMEOUT_MS },
    maxQuestionChars: e.MAX_QUESTION_CHARS,
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
    },
  };
}
