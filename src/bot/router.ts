import { MessageFlags, type Interaction } from 'discord.js';
import { buttons as defaultButtons, commands as defaultCommands, commandType, modals as defaultModals } from './commands/index.js';
import { logHandlerError } from './errors.js';
import { renderError, renderNotice, type MessagePayload } from './render.js';
import type { ServerScope } from '../core/servers/registry.js';
import type { BotContext, ButtonHandler, Command, ModalHandler } from './types.js';

export interface Registry {
  commands: ReadonlyMap<string, Command>;
  buttons: ReadonlyMap<string, ButtonHandler>;
  /** Modal submissions by custom-id prefix. */
  modals?: ReadonlyMap<string, ModalHandler>;
}

export const defaultRegistry: Registry = { commands: defaultCommands, buttons: defaultButtons, modals: defaultModals };

function describe(interaction: Interaction): string {
  if (interaction.isChatInputCommand()) return `/${interaction.commandName}`;
  if (interaction.isCommand() || interaction.isAutocomplete()) return interaction.commandName;
  if (interaction.isButton()) return `button ${interaction.customId.split(':')[0]}`;
  if (interaction.isMessageComponent()) return `component ${interaction.customId}`;
  if (interaction.isModalSubmit()) return `modal ${interaction.customId.split(':')[0]}`;
  return `interaction type ${(interaction as Interaction).type}`;
}

/** Length of the question an interaction carries, for error logs (never the text). */
function questionChars(interaction: Interaction): number | undefined {
  if (interaction.isChatInputCommand()) return interaction.options.getString('question')?.length;
  if (interaction.isMessageContextMenuCommand()) return interaction.targetMessage.content.length;
  return undefined;
}

/**
 * Ends an interaction with `payload`, whatever state it is in: reply, or edit the deferred reply,
 * or (a button that already changed its message, e.g. to "Replacing…") replace that message, so
 * nothing is left saying work is in progress.
 */
async function finish(interaction: Interaction, payload: MessagePayload): Promise<void> {
  if (!interaction.isRepliable()) return;
  if (interaction.deferred || (interaction.replied && interaction.isMessageComponent())) await interaction.editReply(payload);
  else if (interaction.replied) await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
  else await interaction.reply({ ...payload, flags: MessageFlags.Ephemeral });
}

/** A copy of the bot's context scoped to one server: its knowledge, questions, summaries and moderation. */
export function scopedContext(ctx: BotContext, scope: ServerScope): BotContext {
  return { ...ctx, kb: scope.reader, store: scope.store, summaries: scope.summaries, admin: scope.admin, scope };
}

/**
 * Routes one interaction to its command or button handler, scoped to the server Discord says it
 * comes from (`interaction.guildId`; null in a DM). Never throws: a failing handler is logged with
 * its context and the member gets a short apology with the error id.
 */
export async function handleInteraction(interaction: Interaction, botCtx: BotContext, registry: Registry = defaultRegistry): Promise<void> {
  let ctx = botCtx;
  let release = () => undefined as void;
  try {
    const lease = await botCtx.servers.acquire(interaction.guildId);
    release = lease.release;
    ctx = scopedContext(botCtx, lease.scope);
    if (lease.scope.unavailable) {
      if (interaction.isAutocomplete()) await interaction.respond([]);
      else await finish(interaction, renderNotice(lease.scope.unavailable));
      return;
    }
    if (interaction.isAutocomplete()) {
      const command = registry.commands.get(interaction.commandName);
      if (command?.autocomplete) await command.autocomplete(interaction, ctx);
      else await interaction.respond([]);
      return;
    }
    if (interaction.isCommand()) {
      const command = registry.commands.get(interaction.commandName);
      if (!command || commandType(command) !== interaction.commandType) {
        ctx.logger.warn({ command: interaction.commandName, type: interaction.commandType }, 'unknown command (run npm run register?)');
        await finish(interaction, renderNotice('I do not know that command (any more). The bot owner may need to run `npm run register`.'));
        return;
      }
      await command.execute(interaction, ctx);
      return;
    }
    if (interaction.isButton()) {
      const [prefix = '', ...args] = interaction.customId.split(':');
      const handler = registry.buttons.get(prefix);
      if (!handler) {
        await finish(interaction, renderNotice('That button is not one I know (any more).'));
        return;
      }
      await handler.execute(interaction, ctx, args);
      return;
    }
    if (interaction.isModalSubmit()) {
      const [prefix = '', ...args] = interaction.customId.split(':');
      const handler = registry.modals?.get(prefix);
      if (!handler) {
        await finish(interaction, renderNotice('That form is not one I know (any more).'));
        return;
      }
      await handler.execute(interaction, ctx, args);
      return;
    }
    // Other interaction types (select menus) are not used yet.
  } catch (error) {
    const errorId = logHandlerError(ctx.logger, error, {
      command: describe(interaction),
      guildId: interaction.guildId,
      userId: interaction.user.id,
      questionChars: questionChars(interaction),
    });
    try {
      if (interaction.isAutocomplete()) {
        if (!interaction.responded) await interaction.respond([]);
      } else {
        await finish(interaction, renderError(errorId));
      }
    } catch (reportError) {
      ctx.logger.warn({ err: reportError, errorId }, 'could not tell the member about the error');
    }
  } finally {
    release();
  }
}
