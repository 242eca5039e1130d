import { MessageFlags, type ButtonInteraction } from 'discord.js';
import type { Vote } from '../../core/store/feedback.js';
import { BUTTON, renderNotice, renderPassages } from '../render.js';
import type { BotContext, ButtonHandler } from '../types.js';

const TOO_OLD = 'That answer is too old for this button now. Ask the question again to get fresh passages.';

function questionIdOf(arg: string | undefined): number | undefined {
  const id = Number(arg);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** `passages:<questionId>` — the cited paragraphs in full, only for the person who clicked. */
export const passagesButton: ButtonHandler = {
  prefix: BUTTON.passages,
  async execute(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void> {
    const id = questionIdOf(args[0]);
    // Only a question of this server: the custom id is the client's to choose.
    const record = id === undefined ? undefined : await ctx.store.getQuestion(id, interaction.guildId);
    if (!record || record.question === null || record.sources.length === 0) {
      await interaction.reply({ ...renderNotice(TOO_OLD), flags: MessageFlags.Ephemeral });
      return;
    }
    // A passage removed or edited since the answer is never shown again (not even from this stored copy).
    const stillCurrent = await Promise.all(record.sources.map((s) => ctx.kb.isPassageCurrent(s.passageId, s.text, s.layer)));
    const current = record.sources.filter((_, i) => stillCurrent[i]);
    if (current.length === 0) {
      await interaction.reply({
        ...renderNotice('The passages this answer cited have since been changed or removed from the knowledge base. Ask the question again for a fresh answer.'),
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    const [first, ...rest] = renderPassages(current);
    await interaction.reply({ ...first, flags: MessageFlags.Ephemeral });
    for (const page of rest) await interaction.followUp({ ...page, flags: MessageFlags.Ephemeral });
  },
};

/** `feedback:up|down:<questionId>` — one vote per member per answer (a new click replaces it). */
export const feedbackButton: ButtonHandler = {
  prefix: BUTTON.feedback,
  async execute(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void> {
    const [vote, idArg] = args;
    const id = questionIdOf(idArg);
    if ((vote !== 'up' && vote !== 'down') || id === undefined) {
      await interaction.reply({ ...renderNotice('That button is not one I know.'), flags: MessageFlags.Ephemeral });
      return;
    }
    const row = await ctx.store.recordFeedback({ questionId: id, userId: interaction.user.id, guildId: interaction.guildId, vote: vote as Vote });
    if (!row) {
      await interaction.reply({ ...renderNotice(TOO_OLD), flags: MessageFlags.Ephemeral });
      return;
    }
    ctx.logger.info({ questionId: id, vote, userId: interaction.user.id, guildId: interaction.guildId }, 'feedback');
    const text =
      vote === 'up'
        ? 'Thanks for the 👍, it is recorded.'
        : 'Thanks for the 👎, it is recorded. "Show passages" lets you check the sources; rephrasing the question can help too.';
    await interaction.reply({ ...renderNotice(text), flags: MessageFlags.Ephemeral });
  },
};

export const answerButtons: ButtonHandler[] = [passagesButton, feedbackButton];
