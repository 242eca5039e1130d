import {
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type CommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { ANNOUNCE_CHANNEL_TYPES } from '../kb/feeds.js';
import { autocompleteKb, executeKb } from '../kb/handlers.js';
import type { BotContext } from '../types.js';

/**
 * `/kb add|remove|list|show|reindex|stats`: moderators keep the knowledge base current.
 * Registered with `default_member_permissions` = Manage Server (servers can override that, so the
 * bot checks again: Manage Server or a role in KB_MODERATOR_ROLE_IDS), in servers only.
 */
export function build(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName('kb')
    .setDescription('Manage the knowledge base (moderators)')
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) =>
      s
        .setName('add')
        .setDescription('Add an article from a file or a URL, or type it in (no option)')
        .addAttachmentOption((o) => o.setName('file').setDescription('A .md, .txt, .html or .pdf file'))
        .addStringOption((o) => o.setName('url').setDescription('A web page (http or https)').setMaxLength(2000)),
    )
    .addSubcommand((s) =>
      s
        .setName('remove')
        .setDescription('Remove an article (asks to confirm)')
        .addStringOption((o) => o.setName('article').setDescription('Start typing its title').setRequired(true).setAutocomplete(true)),
    )
    .addSubcommand((s) =>
      s
        .setName('list')
        .setDescription('List the articles')
        .addIntegerOption((o) => o.setName('page').setDescription('Page number').setMinValue(1)),
    )
    .addSubcommand((s) =>
      s
        .setName('show')
        .setDescription("An article's details and first paragraphs")
        .addStringOption((o) => o.setName('article').setDescription('Start typing its title').setRequired(true).setAutocomplete(true)),
    )
    .addSubcommand((s) => s.setName('reindex').setDescription('Re-embed every article (e.g. after changing EMBEDDING_MODEL)'))
    .addSubcommand((s) => s.setName('stats').setDescription('Articles, passages, model, index size, questions and feedback'))
    .addSubcommandGroup((g) =>
      g
        .setName('feed')
        .setDescription('Follow RSS, Atom or JSON feeds and sitemaps: new articles are added on their own')
        .addSubcommand((s) =>
          s
            .setName('add')
            .setDescription('Follow a feed or a sitemap.xml (polled now, then on a schedule)')
            .addStringOption((o) => o.setName('url').setDescription('The feed or sitemap address (http or https)').setRequired(true).setMaxLength(2000))
            .addChannelOption((o) => o.setName('channel').setDescription('Post one line per new article here (optional)').addChannelTypes(...ANNOUNCE_CHANNEL_TYPES)),
        )
        .addSubcommand((s) => s.setName('list').setDescription('Feeds: last poll, result, articles, next poll'))
        .addSubcommand((s) =>
          s
            .setName('remove')
            .setDescription('Stop following a feed (its articles stay)')
            .addStringOption((o) => o.setName('feed').setDescription('Its number in /kb feed list, or its URL').setRequired(true).setMaxLength(2000).setAutocomplete(true)),
        )
        .addSubcommand((s) =>
          s
            .setName('refresh')
            .setDescription('Poll now: every feed, or one')
            .addStringOption((o) => o.setName('feed').setDescription('Its number in /kb feed list, or its URL (default: all)').setMaxLength(2000).setAutocomplete(true)),
        ),
    )
    .toJSON();
}

export const data = build();

export async function execute(interaction: CommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.isChatInputCommand()) return;
  await executeKb(interaction, ctx);
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  await autocompleteKb(interaction, ctx);
}
