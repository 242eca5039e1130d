import type {
  AutocompleteInteraction,
  ButtonInteraction,
  CommandInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { KnowledgeBase } from '../core/knowledge-base.js';
import type { FeedbackStore } from '../core/store/feedback.js';
import type { Logger } from '../logger.js';
import type { ConcurrencyLimiter, Cooldown } from './limits.js';

/** Bot settings (from `config.discord` and `config.maxQuestionChars`). */
export interface BotSettings {
  cooldownSeconds: number;
  maxConcurrent: number;
  answerTimeoutMs: number;
  /** The privileged Message Content intent is enabled: plain follow-ups in the bot's threads are answered. */
  messageContentIntent: boolean;
  maxQuestionChars: number;
}

/** Everything a command, button or message handler needs; one per running bot. */
export interface BotContext {
  kb: KnowledgeBase;
  logger: Logger;
  settings: BotSettings;
  store: FeedbackStore;
  cooldown: Cooldown;
  limiter: ConcurrencyLimiter;
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
