/**
 * `npm run register` — registers the bot's slash and context-menu commands with one bulk overwrite:
 * to GUILD_ID when it is set (shows up instantly), globally otherwise (up to an hour to appear).
 * Running it twice changes nothing. `npm run register -- --clear` removes them from that target
 * (e.g. the guild copies after switching to global, which would otherwise show twice).
 *
 * Settings: DISCORD_TOKEN (required), DISCORD_CLIENT_ID (looked up from the token when unset),
 * GUILD_ID (optional), DISCORD_API_URL (optional).
 */
import { runCli } from '../src/cli/run.js';
import { inviteUrl } from '../src/bot/permissions.js';
import { registerCommands } from '../src/bot/register.js';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--clear');
if (unknown.length > 0 || args.includes('--help')) {
  process.stderr.write('Usage: npm run register [-- --clear]\n');
  process.exit(2);
}

await runCli(async (config, logger) => {
  const { token, clientId, guildId, apiUrl } = config.discord;
  if (!token) {
    process.stderr.write('DISCORD_TOKEN is not set. Put the bot token from the developer portal (Bot → Reset Token) in .env.\n');
    process.exitCode = 1;
    return;
  }
  const result = await registerCommands({
    token,
    clientId,
    guildId,
    apiUrl,
    maxQuestionChars: config.maxQuestionChars,
    clear: args.includes('--clear'),
  });
  const where = result.scope === 'guild' ? `guild ${result.guildId} (available now)` : 'all guilds (global; can take up to an hour to appear)';
  logger.info(
    { commands: result.commands.map((c) => c.name), added: result.added, removed: result.removed, kept: result.kept },
    `${args.includes('--clear') ? 'cleared commands of' : `registered ${result.commands.length} commands to`} ${where}`,
  );
  logger.info(`invite URL: ${inviteUrl(result.clientId)}`);
});
