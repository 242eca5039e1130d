/**
 * `/summary article article:<autocomplete> [length] [private]`,
 * `/summary topic topic:<text> [since] [until] [length] [private]` and
 * `/summary latest [since] [until] [length] [private]` (what's new in a period).
 *
 * One command with two subcommands rather than one command with two optional options: Discord
 * can't require "exactly one of two options", but it shows each subcommand as its own entry
 * with its own required option, so a member can't send both or neither and each entry says
 * what it does.
 */
import {
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type SlashCommandSubcommandBuilder,
} from 'discord.js';
import type { SummaryLength } from '../../core/summarize/service.js';
import { SUMMARY_LENGTHS } from '../../core/summarize/summarizer.js';
import { renderCooldown, renderNotice, truncate } from '../render.js';
import { runSummary, type SummaryKind } from '../summary/run.js';
import type { BotContext } from '../types.js';

/** Discord's own limit for a string option. */
const OPTION_MAX = 6000;
/** Autocomplete choices per response, and characters of a choice's name and value. */
const MAX_CHOICES = 25;
const CHOICE_MAX = 100;
/** A typed title (not picked from the list) may be longer than a choice value. */
const ARTICLE_REF_MAX = 300;

const LENGTH_CHOICES: { name: string; value: SummaryLength }[] = [
  { name: `short (up to ${SUMMARY_LENGTHS.short.maxWords} words)`, value: 'short' },
  { name: `medium (up to ${SUMMARY_LENGTHS.medium.maxWords} words)`, value: 'medium' },
  { name: `long (up to ${SUMMARY_LENGTHS.long.maxWords} words)`, value: 'long' },
];
const DEFAULT_LENGTH: SummaryLength = 'medium';

function commonOptions(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return sub
    .addStringOption((o) =>
      o
        .setName('length')
        .setDescription('How long a summary (default: medium)')
        .addChoices(...LENGTH_CHOICES),
    )
    .addBooleanOption((o) => o.setName('private').setDescription('Only you see the summary (default: no)'));
}

export function build(settings: { maxQuestionChars: number }): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName('summary')
    .setDescription('Summarise an article, or what the articles say about a topic, with citations')
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .addSubcommand((sub) =>
      commonOptions(
        sub
          .setName('article')
          .setDescription('The key sentences of one article, in its order, each with its paragraph')
          .addStringOption((o) =>
            o
              .setName('article')
              .setDescription('Start typing the title and pick the article')
              .setRequired(true)
              .setAutocomplete(true)
              .setMaxLength(ARTICLE_REF_MAX),
          ),
      ),
    )
    .addSubcommand((sub) =>
      periodOptions(
        commonOptions(
          sub
            .setName('topic')
            .setDescription('What the articles say about a topic, each sentence citing its article')
            .addStringOption((o) =>
              o
                .setName('topic')
                .setDescription('The topic, e.g. "hostage talks in Qatar"')
                .setRequired(true)
                .setMaxLength(Math.min(OPTION_MAX, settings.maxQuestionChars)),
            ),
        ),
      ),
    )
    .addSubcommand((sub) =>
      periodOptions(commonOptions(sub.setName('latest').setDescription("What's new: the articles of a period (default: the last 7 days), newest first, cited"))),
    )
    .toJSON();
}

/** `since:` / `until:`, written as members write dates ("1 March 2005", "March", "2004", "last Monday"). */
function periodOptions(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return sub
    .addStringOption((o) => o.setName('since').setDescription('From this date, e.g. "1 March 2005", "March", "last Monday"').setMaxLength(100))
    .addStringOption((o) => o.setName('until').setDescription('Up to this date (included), e.g. "2004", "15 March"').setMaxLength(100));
}

export const data = build({ maxQuestionChars: 1000 });

/**
 * Same life as `/ask`: an empty option or the cooldown get an ephemeral reply; otherwise defer
 * (inside Discord's 3 s), summarise (queued, timed), one final edit. An unknown or ambiguous
 * title ends in that final edit too, and gives the member their cooldown back.
 */
export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const kind = interaction.options.getSubcommand(true) as SummaryKind;
  const ref = kind === 'latest' ? 'latest' : interaction.options.getString(kind === 'article' ? 'article' : 'topic', true);
  const since = kind === 'article' ? undefined : (interaction.options.getString('since') ?? undefined);
  const until = kind === 'article' ? undefined : (interaction.options.getString('until') ?? undefined);
  const length = (interaction.options.getString('length') ?? DEFAULT_LENGTH) as SummaryLength;
  const ephemeral = interaction.options.getBoolean('private') ?? false;

  if (!ref.trim()) {
    const text =
      kind === 'article'
        ? 'Please pick an article: start typing its title and choose it from the list.'
        : 'Please give a topic to summarise, for example: "hostage talks in Qatar".';
    await interaction.reply({ ...renderNotice(text), flags: MessageFlags.Ephemeral });
    return;
  }

  const command = `/summary ${kind}`;
  const cooldown = await ctx.cooldown.take(interaction.user.id);
  if (!cooldown.ok) {
    ctx.logger.info({ command, guildId: interaction.guildId, userId: interaction.user.id }, 'cooldown');
    await interaction.reply({ ...renderCooldown(cooldown.retryAfterMs), flags: MessageFlags.Ephemeral });
    return;
  }

  await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  const outcome = await runSummary(ctx, {
    via: 'slash',
    command,
    kind,
    ref,
    length,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    userId: interaction.user.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
  });
  if (outcome.outcome === 'rejected') await ctx.cooldown.release(interaction.user.id);
  await interaction.editReply(outcome.payload);
}

/** Article titles starting with (then containing) what the member typed; the value is the article id. */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'article' || !ctx.summaries) {
    await interaction.respond([]);
    return;
  }
  const choices = (await ctx.summaries.suggestArticles(String(focused.value ?? ''), MAX_CHOICES)).map((a) => {
    const title = a.title.replace(/\s+/g, ' ').trim();
    const name = truncate(title, CHOICE_MAX) || truncate(a.id, CHOICE_MAX);
    // An over-long id (never, with ≤ 80-character slugs) falls back to the title's start: a unique prefix resolves too.
    return { name, value: a.id.length <= CHOICE_MAX ? a.id : title.slice(0, CHOICE_MAX) };
  });
  await interaction.respond(choices.slice(0, MAX_CHOICES));
}
