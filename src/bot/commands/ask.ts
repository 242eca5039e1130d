import {
  InteractionContextType,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { askFromInteraction } from '../ask-interaction.js';
import type { BotContext } from '../types.js';

/** Discord's own limit for a string option. */
const OPTION_MAX = 6000;

export function build(settings: { maxQuestionChars: number }): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName('ask')
    .setDescription('Ask a question about the articles; the answer cites article and paragraph')
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .addStringOption((o) =>
      o
        .setName('question')
        .setDescription('Your question, e.g. "Where did the talks take place?"')
        .setRequired(true)
        .setMaxLength(Math.min(OPTION_MAX, settings.maxQuestionChars)),
    )
    .addBooleanOption((o) => o.setName('private').setDescription('Only you see the answer (default: no)'))
    .toJSON();
}

/** `/ask question:<text> [private:true]` */
export const data = build({ maxQuestionChars: 1000 });

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await askFromInteraction(interaction, ctx, {
    via: 'slash',
    command: '/ask',
    question: interaction.options.getString('question', true),
    ephemeral: interaction.options.getBoolean('private') ?? false,
  });
}
