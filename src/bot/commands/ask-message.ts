import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  MessageFlags,
  type MessageContextMenuCommandInteraction,
  type RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import { askFromInteraction } from '../ask-interaction.js';
import { renderNotice } from '../render.js';
import type { BotContext } from '../types.js';

export const NAME = 'Ask the knowledge base';

/** Message context-menu command (right-click a message → Apps → Ask the knowledge base). */
export const data: RESTPostAPIContextMenuApplicationCommandsJSONBody = new ContextMenuCommandBuilder()
  .setName(NAME)
  .setType(ApplicationCommandType.Message)
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .toJSON();

/**
 * Answers the selected message's text, publicly (the point is to help whoever asked it there).
 * Interactions always carry the target message's content, with or without the Message Content intent.
 */
export async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void> {
  const target = interaction.targetMessage;
  const text = target.content.trim() || target.embeds[0]?.description?.trim() || '';
  if (!text) {
    await interaction.reply({ ...renderNotice('That message has no text I can ask about.'), flags: MessageFlags.Ephemeral });
    return;
  }
  // Mentions in the message are not part of the question.
  const question = text.replace(/<@[!&]?\d+>/g, ' ').trim();
  await askFromInteraction(interaction, ctx, { via: 'context-menu', command: NAME, question, ephemeral: false });
}
