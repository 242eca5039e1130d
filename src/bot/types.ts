import type {
  AutocompleteInteraction,
  ButtonInteraction,
  CommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { KnowledgeAdmin } from '../core/admin/index.js';
import type { FeedPoller } from '../core/feeds/index.js';
import type { KnowledgeReader } from '../core/servers/reader.js';
import type { ServerRegistry, ServerScope } from '../core/servers/registry.js';
import type { ChatClient } from '../core/llm/index.js';
import type { QuestionStore } from '../core/store/port.js';
import type { SummaryService } from '../core/summarize/service.js';
import type { Logger } from '../logger.js';
import type { BotMetrics } from '../ops/metrics.js';
import type { ConcurrencyLimiter, Cooldown } from './limits.js';

/** Bot settings (from `config.discord` and `config.maxQuestionChars`). */
export interface BotSettings {
  cooldownSeconds: number;
  maxConcurrent: number;
  answerTimeoutMs: number;
  /** The privileged Message Content intent is enabled: plain follow-ups in the bot's threads are answered. */
  messageContentIntent: boolean;
  maxQuestionChars: number;
  /** Roles whose members may use `/kb` (besides Manage Server). */
  kbModeratorRoleIds?: string[];
  /** Channel where `/kb` changes are posted. */
  kbLogChannelId?: string;
  /** How often a running `/kb reindex` edits its progress message. Default 3,000 ms. */
  kbProgressIntervalMs?: number;
  /** `/healthz` embeds a probe at most this often (every scrape must not cost a model call). Default 15,000 ms. */
  healthProbeIntervalMs?: number;
  /** How often old question text is blanked and servers left long ago are purged. Default daily. */
  housekeepingIntervalMs?: number;
  /** FEED_POLL_MINUTES (0: feeds are polled only on `/kb feed refresh`). */
  feedPollMinutes?: number;
}

/**
 * Everything a command, button or message handler needs. The bot holds one; every interaction
 * and message gets a copy scoped to its server (`scope`): `kb`, `store`, `summaries` and `admin`
 * are then that server's, so a handler cannot reach another server's knowledge base.
 */
export interface BotContext {
  /** What questions are answered from (the server's view once scoped). */
  kb: KnowledgeReader;
  /** The knowledge bases of every server, and who may change which. */
  servers: ServerRegistry;
  /** The server this context is scoped to (absent on the bot-wide context). */
  scope?: ServerScope;
  logger: Logger;
  settings: BotSettings;
  store: QuestionStore;
  cooldown: Cooldown;
  limiter: ConcurrencyLimiter;
  /** Article and topic summaries (`/summary`); startBot creates one from the app's kb and embedder. */
  summaries?: SummaryService;
  /** Moderation of the knowledge base `/kb` may change from this server (absent: refused, see `scope.access`). */
  admin?: KnowledgeAdmin;
  /**
   * Language model for written answers (`LLM_BASE_URL`); absent: extractive answers only. Written
   * answers are checked and fall back to the extractive one (see `askWritten`).
   */
  llm?: ChatClient;
  /** Counters and histograms for `/metrics` (HEALTH_PORT). */
  metrics?: BotMetrics;
  /** Feed subscriptions of every knowledge base, and their poller (`/kb feed`). */
  feeds?: FeedPoller;
}

/**
 * One application command (discord.js guide layout): `data` is what `npm run register` sends,
 * `execute` runs it. `build` (optional) derives `data` from the settings (e.g. the question length).
 */
export interface Command {
  data: RESTPostAPIApplicationCommandsJSONBody;
  build?(settings: Pick<BotSettings, 'maxQuestionChars'>): RESTPostAPIApplicationCommandsJSONBody;
  execute(interaction: CommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
}

/**
 * Handles buttons whose custom id is `<prefix>:<arg>:<arg>...`; `args` are the parts after the prefix.
 */
export interface ButtonHandler {
  prefix: string;
  execute(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void>;
}

/** Handles modal submissions whose custom id is `<prefix>` or `<prefix>:<arg>...`. */
export interface ModalHandler {
  prefix: string;
  execute(interaction: ModalSubmitInteraction, ctx: BotContext, args: string[]): Promise<void>;
}
