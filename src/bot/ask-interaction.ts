import { MessageFlags, type ChatInputCommandInteraction, type MessageContextMenuCommandInteraction } from 'discord.js';
import { answerQuestion, isUserInputError } from './answer.js';
import { renderCooldown, renderNotice } from './render.js';
import type { BotContext } from './types.js';

export interface InteractionAskOptions {
  via: string;
  command: string;
  question: string;
  /** Only the asker sees the answer. */
  ephemeral: boolean;
}

/**
 * The life of an asking interaction: validate → cooldown → defer (inside Discord's 3 s) → answer
 * (queued, timed; a written answer's drafts are edited in at most once a second) → one final
 * edit. Input problems and the cooldown get an ephemeral reply instead of a deferral, so nothing
 * is ever left on "thinking…".
 */
export async function askFromInteraction(
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction,
  ctx: BotContext,
  options: InteractionAskOptions,
): Promise<void> {
  let question: string;
  try {
    question = ctx.kb.validateQuestion(options.question);
  } catch (error) {
    if (!isUserInputError(error)) throw error;
    await interaction.reply({ ...renderNotice(error.message), flags: MessageFlags.Ephemeral });
    return;
  }

  const cooldown = await ctx.cooldown.take(interaction.user.id);
  if (!cooldown.ok) {
    ctx.logger.info({ command: options.command, guildId: interaction.guildId, userId: interaction.user.id }, 'cooldown');
    await interaction.reply({ ...renderCooldown(cooldown.retryAfterMs), flags: MessageFlags.Ephemeral });
    return;
  }

  await interaction.deferReply(options.ephemeral ? { flags: MessageFlags.Ephemeral } : {});

  // Inside a thread the earlier questions of the thread are the context; a private question reads
  // them but does not become part of the thread's conversation.
  const threadId = interaction.channel?.isThread() ? interaction.channelId : null;
  const history = threadId ? await ctx.store.recentQuestions(threadId) : [];
  const outcome = await answerQuestion(ctx, {
    via: options.via,
    command: options.command,
    question,
    userId: interaction.user.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    conversationId: options.ephemeral ? null : threadId,
    history,
    // A written answer streams into the "thinking…" message; the final edit below replaces it.
    onDraft: (payload) => interaction.editReply(payload),
  });
  await interaction.editReply(outcome.payload);
}
