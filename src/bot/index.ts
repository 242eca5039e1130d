/** What `src/main.ts` needs to run the Discord bot. */
export { startBot, botIntents, botSettings, QUESTION_TEXT_RETENTION_DAYS, type RunningBot, type StartBotOptions } from './client.js';
export { registerCommands, type RegisterOptions, type RegisterResult } from './register.js';
export { BOT_PERMISSIONS, BOT_SCOPES, inviteUrl } from './permissions.js';
export { commandPayloads, commands, buttons } from './commands/index.js';
export type { BotContext, BotSettings, Command, ButtonHandler } from './types.js';
