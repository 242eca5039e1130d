/**
 * `/kb feed add|list|remove|refresh`: the Discord side of feed subscriptions. The access check
 * (`kbAccess`) has already run in `executeKb`; `admin` is the knowledge base this member may
 * manage from this server, and the feeds are that knowledge base's. The work is core
 * (`src/core/feeds/`); this file only reads options and renders.
 */
import { ChannelType, MessageFlags, type APIEmbed, type ChatInputCommandInteraction, type Client, type MessageCreateOptions } from 'discord.js';
import type { KnowledgeAdmin } from '../../core/admin/index.js';
import { listFeeds, removeFeed, type Announcement, type FeedRecord, type PollReport, type Tenant } from '../../core/feeds/index.js';
import { UserInputError, type Actor } from '../../core/knowledge-base.js';
import { writeAccess, type TenancyPolicy } from '../../core/servers/policy.js';
import { LIMITS, quoteFit, renderNotice, safeUrl, truncate, type MessagePayload } from '../render.js';
import type { BotContext } from '../types.js';
import { KB_COLORS } from './render.js';

const NO_MENTIONS = { parse: [] as never[] };

/** Channel types an announce line can go to. */
export const ANNOUNCE_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;

/** The tenant whose feeds `admin` manages: the operator's knowledge base, or this server's own. */
function tenantOf(ctx: BotContext, admin: KnowledgeAdmin, guildId: string | null): Tenant {
  return admin === ctx.servers.baseAdmin ? null : guildId;
}

export async function executeFeed(interaction: ChatInputCommandInteraction, ctx: BotContext, admin: KnowledgeAdmin, actor: Actor): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  const feeds = ctx.feeds;
  if (!feeds) {
    await interaction.reply({ ...renderNotice('Feeds are not available in this process. Nothing was changed.'), flags: MessageFlags.Ephemeral });
    return;
  }
  const tenant = tenantOf(ctx, admin, interaction.guildId);
  try {
    switch (sub) {
      case 'list':
        await interaction.reply({ ...renderFeedList(await listFeeds(admin), ctx.settings.feedPollMinutes), flags: MessageFlags.Ephemeral });
        return;
      case 'remove': {
        const feed = await removeFeed(admin, interaction.options.getString('feed', true));
        ctx.logger.info({ userId: interaction.user.id, guildId: interaction.guildId, feed: feed.url }, 'kb feed remove');
        await interaction.reply({ ...renderFeedRemoved(feed), flags: MessageFlags.Ephemeral });
        return;
      }
      case 'add': {
        const url = interaction.options.getString('url', true);
        const channel = interaction.options.getChannel('channel');
        await interaction.deferReply({ flags: MessageFlags.Ephemeral });
        const report = await feeds.add(tenant, admin, { url, ...(channel ? { announceChannelId: channel.id } : {}) }, actor);
        ctx.logger.info({ userId: interaction.user.id, guildId: interaction.guildId, feed: report.feed.url, added: report.added.length }, 'kb feed add');
        await interaction.editReply(renderPolls('Following', [report]));
        return;
      }
      case 'refresh': {
        const ref = interaction.options.getString('feed') ?? undefined;
        await interaction.deferReply({ flags: MessageFlags.Ephemeral });
        const reports = await feeds.refresh(tenant, admin, ref, actor);
        ctx.logger.info({ userId: interaction.user.id, guildId: interaction.guildId, feeds: reports.length }, 'kb feed refresh');
        await interaction.editReply(renderPolls('Refreshed', reports));
        return;
      }
      default:
        await interaction.reply({ ...renderNotice(`I do not know \`/kb feed ${sub}\`.`), flags: MessageFlags.Ephemeral });
    }
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    const payload = renderNotice(error.message);
    if (interaction.deferred || interaction.replied) await interaction.editReply(payload);
    else await interaction.reply({ ...payload, flags: MessageFlags.Ephemeral });
  }
}

/** Autocomplete of a `feed` option: this knowledge base's feeds whose URL or title contains what was typed; the value is the number. */
export async function feedChoices(admin: KnowledgeAdmin, typed: string): Promise<{ name: string; value: string }[]> {
  const q = typed.trim().toLowerCase();
  return (await listFeeds(admin))
    .filter((f) => !q || String(f.id) === q || f.url.toLowerCase().includes(q) || (f.title ?? '').toLowerCase().includes(q))
    .slice(0, 25)
    .map((f) => ({ name: truncate(`${f.id}. ${f.title ? `${f.title} — ` : ''}${f.url}`, 100), value: String(f.id) }));
}

/** `<t:…:R>`: Discord shows "in 12 minutes" in the reader's locale. */
function when(iso: string | undefined): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `<t:${Math.floor(t / 1000)}:R>`;
}

const RESULT_LABEL = { ok: '✅ read', unchanged: '✅ not modified', error: '⚠️ failed' } as const;

function feedName(feed: FeedRecord): string {
  return feed.title ? `${quoteFit(feed.title, 80)} — <${feed.url}>` : `<${feed.url}>`;
}

export function renderFeedList(feeds: FeedRecord[], pollMinutes?: number): MessagePayload {
  const blocks = feeds.map((f) => {
    const lines = [`**${f.id}.** ${feedName(f)}${f.kind === 'sitemap' ? ' (sitemap)' : ''}`];
    const result = f.lastResult ? `${RESULT_LABEL[f.lastResult]}: ${truncate(f.lastMessage ?? '', 300)}` : 'not polled yet';
    lines.push(`last poll ${when(f.lastPollAt)} · ${result}`);
    const next = pollMinutes === 0 ? 'only on `/kb feed refresh`' : when(f.nextPollAt);
    lines.push(`${f.articles} article${f.articles === 1 ? '' : 's'} · next poll ${next}${f.failures > 1 ? ` (backing off after ${f.failures} failures)` : ''}${f.announceChannelId ? ` · new articles → <#${f.announceChannelId}>` : ''}`);
    return lines.join('\n');
  });
  const embed: APIEmbed = {
    title: `Feeds (${feeds.length})`,
    description: truncate(blocks.join('\n\n') || 'No feeds yet. Follow one with `/kb feed add url:` (RSS, Atom, JSON Feed or a sitemap.xml).', LIMITS.embedDescription),
    color: KB_COLORS.info,
    footer: { text: 'Remove or refresh one by its number: /kb feed remove feed:1' },
  };
  return { content: '', embeds: [embed], components: [], allowedMentions: NO_MENTIONS };
}

export function renderPolls(verb: string, reports: PollReport[]): MessagePayload {
  const embeds: APIEmbed[] = reports.slice(0, 10).map((r) => {
    const lines = [
      r.result === 'busy' ? `⏳ ${r.message}` : `${RESULT_LABEL[r.result]}: ${truncate(r.message, 1000)}`,
      `**Articles from this feed:** ${r.feed.articles} · **passages embedded now:** ${r.embedded}`,
    ];
    if (r.added.length > 0) lines.push(`**New:** ${r.added.slice(0, 10).map((a) => quoteFit(a.title, 120)).join(', ')}${r.added.length > 10 ? ', …' : ''}`);
    if (r.feed.announceChannelId) lines.push(`New articles are announced in <#${r.feed.announceChannelId}>.`);
    const url = safeUrl(r.feed.url);
    return {
      title: truncate(`${verb} feed ${r.feed.id}: ${r.feed.title ?? r.feed.url}`, LIMITS.embedTitle),
      ...(url ? { url } : {}),
      description: truncate(lines.join('\n'), LIMITS.embedDescription),
      color: r.result === 'error' ? KB_COLORS.warn : KB_COLORS.ok,
    };
  });
  return { content: reports.length > 10 ? `${reports.length} feeds; the first 10 are shown.` : '', embeds, components: [], allowedMentions: NO_MENTIONS };
}

export function renderFeedRemoved(feed: FeedRecord): MessagePayload {
  return {
    content: '',
    embeds: [
      {
        title: truncate(`Stopped following: ${feed.title ?? feed.url}`, LIMITS.embedTitle),
        description: `Its ${feed.articles} article${feed.articles === 1 ? '' : 's'} stay in the knowledge base; remove any with \`/kb remove\`.`,
        color: KB_COLORS.ok,
      },
    ],
    components: [],
    allowedMentions: NO_MENTIONS,
  };
}

/** One line per new article: title, date, link (no embed preview, no pings). */
export function announceLines(articles: Announcement['articles']): string[] {
  return articles.map((a) => {
    const date = a.date ? ` · ${new Date(a.date).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })}` : '';
    const url = safeUrl(a.url);
    return truncate(`📰 ${quoteFit(a.title, 200)}${date}${url ? ` · <${url}>` : ''}`, 400);
  });
}

/**
 * Posts an announcement, in as few messages as Discord's 2,000 characters allow. The channel must
 * be in a server whose moderators manage this feed's knowledge base: a feed of one server never
 * posts into another.
 */
export async function postAnnouncement(client: Client, policy: TenancyPolicy, announcement: Announcement): Promise<void> {
  const channel = await client.channels.fetch(announcement.channelId);
  if (!channel || !channel.isSendable() || !('guildId' in channel)) throw new Error(`the announce channel ${announcement.channelId} is not a server channel the bot can post in`);
  const guildId = channel.guildId;
  const access = writeAccess(policy, guildId, client.guilds.cache.size);
  const allowed = announcement.tenant === null ? 'target' in access && access.target === 'base' : guildId === announcement.tenant;
  if (!allowed) throw new Error(`the announce channel ${announcement.channelId} is in another server than the feed's; not posting there`);
  let message = '';
  for (const line of announceLines(announcement.articles)) {
    if (message && message.length + 1 + line.length > 2000) {
      await channel.send({ content: message, allowedMentions: NO_MENTIONS } as MessageCreateOptions);
      message = '';
    }
    message = message ? `${message}\n${line}` : line;
  }
  if (message) await channel.send({ content: message, allowedMentions: NO_MENTIONS } as MessageCreateOptions);
}
