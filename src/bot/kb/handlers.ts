/**
 * `/kb` behaviour: every subcommand, the confirmation and paging buttons, the "add" modal and
 * autocomplete. Each entry point checks the member's right first (Manage Server or a moderator
 * role — server admins can override the command's default permissions, so the bot checks again);
 * a refusal is ephemeral and changes nothing. The work itself is `KnowledgeAdmin` (src/core/admin).
 */
import {
  ActionRowBuilder,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  TextInputBuilder,
  TextInputStyle,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageCreateOptions,
  type ModalSubmitInteraction,
} from 'discord.js';
import { MAX_TITLE_CHARS, ReindexRunningError, replacementKey, type KnowledgeAdmin, type RunningReindex } from '../../core/admin/index.js';
import { UserInputError, type Actor, type ReindexProgress } from '../../core/knowledge-base.js';
import { refusalMessage } from '../../core/servers/policy.js';
import type { RawArticle } from '../../core/types.js';
import { quoteText, renderNotice, truncate, type MessagePayload } from '../render.js';
import type { BotContext, ButtonHandler, ModalHandler } from '../types.js';
import { executeFeed, feedChoices } from './feeds.js';
import {
  KB_BUTTON,
  KB_MODAL,
  renderAddResult,
  renderList,
  renderReindexDone,
  renderReindexProgress,
  renderRemoveConfirm,
  renderRemoved,
  renderReplaceConfirm,
  renderShow,
  renderStats,
} from './render.js';

/** Discord's limit for a paragraph text input. */
const MODAL_TEXT_MAX = 4000;
const LIST_PAGE_SIZE = 10;

export const REFUSAL =
  'Only moderators can manage the knowledge base: you need the **Manage Server** permission or a moderator role. Nothing was changed.';

type KbInteraction = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction | AutocompleteInteraction;

/** Manage Server (Administrator includes it), or one of the configured moderator roles. */
export function isModerator(interaction: KbInteraction, ctx: BotContext): boolean {
  if (!interaction.inGuild()) return false;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  const allowed = ctx.settings.kbModeratorRoleIds ?? [];
  if (allowed.length === 0) return false;
  const member = interaction.member;
  // Raw member data lists role ids; a cached GuildMember keeps them in `_roles` (roles.cache only
  // holds roles the guild cache knows).
  const ids = Array.isArray(member.roles) ? member.roles : ((member as unknown as { _roles?: string[] })._roles ?? [...member.roles.cache.keys()]);
  return ids.some((id) => allowed.includes(id));
}

function actorOf(interaction: KbInteraction): Actor {
  return { id: interaction.user.id, name: interaction.user.username, via: 'discord' };
}

type Need = 'read' | 'write';

/**
 * The one check every `/kb` command, button, form and autocomplete goes through, decided from the
 * interaction's server (`interaction.guildId`, which Discord sets) and the member's permissions in
 * it: a moderator of this server, then what this server may change (`ctx.scope.access`: the shared
 * knowledge base only from its managing server; in `KB_SCOPE=server` its own). `read` (list, show,
 * stats, paging, autocomplete) needs only the first. Returns the moderation service to use, or
 * undefined after replying with a private refusal; nothing is changed then.
 */
async function kbAccess(
  interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
  ctx: BotContext,
  need: Need,
): Promise<KnowledgeAdmin | undefined> {
  const decided = decideAccess(interaction, ctx, need);
  if (typeof decided !== 'string') return decided;
  ctx.logger.info({ userId: interaction.user.id, guildId: interaction.guildId, what: 'kb', need }, 'kb refused');
  const payload = { ...renderNotice(decided), flags: MessageFlags.Ephemeral } as const;
  if (interaction.deferred || interaction.replied) await interaction.followUp(payload);
  else await interaction.reply(payload);
  return undefined;
}

/** The moderation service this member may use here for `need`, or the refusal to show. */
function decideAccess(interaction: KbInteraction, ctx: BotContext, need: Need): KnowledgeAdmin | string {
  if (!isModerator(interaction, ctx)) return REFUSAL;
  const scope = ctx.scope;
  if (!scope) throw new Error('a /kb interaction must be scoped to its server');
  if (need === 'read') return scope.managed;
  if (ctx.admin) return ctx.admin;
  const access = scope.access;
  if ('refused' in access) return refusalMessage(access, (id) => interaction.client.guilds.cache.get(id)?.name);
  throw new Error('write access without a moderation service');
}

/** Runs `work`; a UserInputError becomes `say(message)` (ephemeral), anything else propagates. */
async function userErrors(work: () => Promise<void>, say: (message: string) => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    await say(error.message);
  }
}

/**
 * `check()`'s value; on a UserInputError, undefined after telling the member why (an ephemeral
 * reply, so only for checks made before the interaction is deferred).
 */
async function checkedBeforeDefer<T>(interaction: ChatInputCommandInteraction | ModalSubmitInteraction, check: () => T): Promise<T | undefined> {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    await interaction.reply({ ...renderNotice(error.message), flags: MessageFlags.Ephemeral });
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Subcommands
// ---------------------------------------------------------------------------------------------

const READ_ONLY = new Set(['list', 'show', 'stats']);

export async function executeKb(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  if (interaction.options.getSubcommandGroup(false) === 'feed') {
    // Following a feed changes the knowledge base (now and on every poll): the same check as /kb add.
    const admin = await kbAccess(interaction, ctx, sub === 'list' ? 'read' : 'write');
    if (admin) await executeFeed(interaction, ctx, admin, actorOf(interaction));
    return;
  }
  const admin = await kbAccess(interaction, ctx, READ_ONLY.has(sub) ? 'read' : 'write');
  if (!admin) return;
  switch (sub) {
    case 'add':
      return add(interaction, ctx, admin);
    case 'remove':
      return remove(interaction, admin);
    case 'list':
      await interaction.reply({ ...renderList(await admin.list(interaction.options.getInteger('page') ?? 1, LIST_PAGE_SIZE)), flags: MessageFlags.Ephemeral });
      return;
    case 'show':
      return show(interaction, admin);
    case 'reindex':
      return reindex(interaction, ctx, admin);
    case 'stats':
      await interaction.reply({ ...renderStats(await admin.stats(), await safeUsage(ctx, interaction.guildId)), flags: MessageFlags.Ephemeral });
      return;
    default:
      await interaction.reply({ ...renderNotice(`I do not know \`/kb ${sub}\`.`), flags: MessageFlags.Ephemeral });
  }
}

/** This server's questions and votes (a shared store holds other servers' too). */
async function safeUsage(ctx: BotContext, guildId: string | null) {
  try {
    return await ctx.store.stats(guildId ?? undefined);
  } catch {
    return undefined;
  }
}

function addModal(): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(KB_MODAL)
    .setTitle('Add an article')
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder().setCustomId('title').setLabel('Title').setStyle(TextInputStyle.Short).setRequired(true).setMaxLength(MAX_TITLE_CHARS),
      ),
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId('text')
          .setLabel('Text (paragraphs separated by blank lines)')
          .setStyle(TextInputStyle.Paragraph)
          .setRequired(true)
          .setMaxLength(MODAL_TEXT_MAX),
      ),
    );
}

async function add(interaction: ChatInputCommandInteraction, ctx: BotContext, admin: KnowledgeAdmin): Promise<void> {
  const file = interaction.options.getAttachment('file');
  const url = interaction.options.getString('url');
  if (file && url) {
    await interaction.reply({ ...renderNotice('Give either a file or a URL, not both. Nothing was changed.'), flags: MessageFlags.Ephemeral });
    return;
  }
  if (!file && !url) {
    await interaction.showModal(addModal());
    return;
  }
  // Refuse what the declared name and size already rule out, before downloading anything.
  const uploadAllowed = () => {
    if (file) admin.checkUpload({ name: file.name, size: file.size });
    return true;
  };
  if (!(await checkedBeforeDefer(interaction, uploadAllowed))) return;
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await userErrors(
    async () => {
      const raw = file
        ? await admin.loadUpload({ name: file.name, size: file.size, url: file.url, contentType: file.contentType }, `discord:${file.name}`)
        : await admin.loadUrl(url!);
      await finishAdd(interaction, ctx, admin, raw);
    },
    (message) => interaction.editReply(renderNotice(message)),
  );
}

/** Adds, or asks to confirm a replacement; the interaction is deferred (ephemeral). */
async function finishAdd(interaction: ChatInputCommandInteraction | ModalSubmitInteraction, ctx: BotContext, admin: KnowledgeAdmin, raw: RawArticle): Promise<void> {
  const outcome = await admin.add(raw, actorOf(interaction));
  if (outcome.status === 'needs-confirmation') {
    const token = await admin.stage(interaction.user.id, { kind: 'add', raw, replaces: replacementKey(outcome.preview.replaces) } satisfies Staged);
    await interaction.editReply(renderReplaceConfirm(outcome.preview, token));
    return;
  }
  ctx.logger.info({ userId: interaction.user.id, articleId: outcome.id, status: outcome.status, seconds: outcome.seconds }, 'kb add');
  await interaction.editReply(renderAddResult(outcome));
}

/** An article option: the id chosen in autocomplete, or a typed title. */
async function resolveArticle(admin: KnowledgeAdmin, value: string) {
  const v = value.trim();
  const byId = await admin.kb.getArticle(v);
  if (byId) return byId;
  const lower = v.toLowerCase();
  const exact = (await admin.kb.listArticles()).filter((a) => a.title.toLowerCase() === lower);
  if (exact.length === 1) return exact[0];
  const suggestions = admin.suggest(v, 2);
  return suggestions.length === 1 ? await admin.kb.getArticle(suggestions[0].id) : undefined;
}

async function remove(interaction: ChatInputCommandInteraction, admin: KnowledgeAdmin): Promise<void> {
  const value = interaction.options.getString('article', true);
  const article = await resolveArticle(admin, value);
  if (!article) {
    await interaction.reply({
      ...renderNotice(`No article matches “${truncate(value, 100)}”. Pick one from the suggestions while typing. Nothing was changed.`),
      flags: MessageFlags.Ephemeral,
    });
    return;
  }
  const token = await admin.stage(interaction.user.id, { kind: 'remove', id: article.id } satisfies Staged);
  await interaction.reply({ ...renderRemoveConfirm(article, token), flags: MessageFlags.Ephemeral });
}

async function show(interaction: ChatInputCommandInteraction, admin: KnowledgeAdmin): Promise<void> {
  const value = interaction.options.getString('article', true);
  const article = await resolveArticle(admin, value);
  const details = article ? await admin.show(article.id) : undefined;
  if (!details) {
    await interaction.reply({ ...renderNotice(`No article matches “${truncate(value, 100)}”.`), flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.reply({ ...renderShow(details), flags: MessageFlags.Ephemeral });
}

async function reindex(interaction: ChatInputCommandInteraction, ctx: BotContext, admin: KnowledgeAdmin): Promise<void> {
  const running = await admin.reindexing();
  if (running) {
    await interaction.reply({ ...renderNotice(alreadyReindexing(running)), flags: MessageFlags.Ephemeral });
    return;
  }
  const startedAt = Date.now();
  {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    let latest: ReindexProgress | undefined;
    let shown: ReindexProgress | undefined;
    let editing: Promise<unknown> = Promise.resolve();
    const edit = () => {
      if (!latest || latest === shown) return;
      shown = latest;
      const view = renderReindexProgress(latest, startedAt);
      editing = editing.then(() => interaction.editReply(view)).catch((error: unknown) => ctx.logger.warn({ err: error }, 'reindex progress edit failed'));
    };
    const timer = setInterval(edit, ctx.settings.kbProgressIntervalMs ?? 3000);
    try {
      const report = await admin.reindex(actorOf(interaction), (p) => {
        latest = p;
      });
      clearInterval(timer);
      await editing;
      ctx.logger.info({ userId: interaction.user.id, articles: report.articles, passages: report.passages, seconds: report.seconds }, 'kb reindex');
      await finalReply(interaction, ctx, renderReindexDone(report), '/kb reindex');
    } catch (error) {
      clearInterval(timer);
      await editing;
      if (!(error instanceof UserInputError)) throw error;
      // Another process claimed the reindex between the check above and this one's start.
      const message = error instanceof ReindexRunningError ? alreadyReindexing(error.running) : error.message;
      await finalReply(interaction, ctx, renderNotice(message), '/kb reindex');
    }
  }
}

function alreadyReindexing(running: RunningReindex): string {
  const who = quoteText(running.actor.name ?? running.actor.id);
  return `A reindex is already running (started by ${who} <t:${Math.floor(running.since / 1000)}:R>). Nothing was changed.`;
}

/** Discord's error for an interaction token past its 15 minutes. */
const TOKEN_EXPIRED = 50027;

/**
 * The last word of a long task. An interaction's token lets the bot edit its reply for 15 minutes
 * only; past that, the result goes to the knowledge-base log channel when there is one, else to
 * the channel the command was used in, saying why it arrives there.
 */
async function finalReply(interaction: ChatInputCommandInteraction, ctx: BotContext, payload: MessagePayload, what: string): Promise<void> {
  try {
    await interaction.editReply(payload);
    return;
  } catch (error) {
    if ((error as { code?: unknown }).code !== TOKEN_EXPIRED) throw error;
    ctx.logger.warn({ userId: interaction.user.id, guildId: interaction.guildId, what }, 'the reply can no longer be edited (15-minute token); posting the result in a channel');
  }
  const note = `${what} by ${interaction.user.username} finished after Discord's 15 minutes for editing its reply, so its result is posted here.`;
  for (const channelId of [ctx.settings.kbLogChannelId, interaction.channelId]) {
    if (!channelId) continue;
    try {
      const channel = await interaction.client.channels.fetch(channelId);
      if (!channel?.isSendable() || ('guildId' in channel && channel.guildId !== interaction.guildId)) continue;
      await channel.send({ ...payload, content: truncate(note, 2000), allowedMentions: { parse: [] } } as MessageCreateOptions);
      return;
    } catch (error) {
      ctx.logger.warn({ err: error, channelId, what }, 'could not post the result in the channel');
    }
  }
  ctx.logger.warn({ what, userId: interaction.user.id }, 'the result of a long task could not be shown anywhere; see this log');
}

// ---------------------------------------------------------------------------------------------
// Autocomplete (from memory: titles are kept by the knowledge base)
// ---------------------------------------------------------------------------------------------

export async function autocompleteKb(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const admin = decideAccess(interaction, ctx, 'read');
  const focused = interaction.options.getFocused(true);
  if (typeof admin !== 'string' && focused.name === 'feed') {
    await interaction.respond(await feedChoices(admin, String(focused.value)));
    return;
  }
  if (typeof admin === 'string' || focused.name !== 'article') {
    await interaction.respond([]);
    return;
  }
  const choices = admin.suggest(String(focused.value), 25).map((a) => ({ name: truncate(a.title, 100), value: a.id.slice(0, 100) }));
  await interaction.respond(choices);
}

// ---------------------------------------------------------------------------------------------
// Buttons: kb:ok:<token>, kb:no:<token>, kb:page:<n>
// ---------------------------------------------------------------------------------------------

/** A confirmation waiting for its button; `replaces` is what the moderator was shown would be replaced. */
type Staged = { kind: 'add'; raw: RawArticle; replaces: string } | { kind: 'remove'; id: string };


const EXPIRED = 'This confirmation has expired (or was already used). Run the command again. Nothing was changed.';

export const kbButton: ButtonHandler = {
  prefix: KB_BUTTON,
  async execute(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void> {
    const [action, arg = ''] = args;
    const admin = await kbAccess(interaction, ctx, action === 'page' ? 'read' : 'write');
    if (!admin) return;
    if (action === 'page') {
      await interaction.update(renderList(await admin.list(Number(arg) || 1, LIST_PAGE_SIZE)));
      return;
    }
    if (action === 'no') {
      await admin.cancel(arg, interaction.user.id);
      await interaction.update(renderNotice('Cancelled. Nothing was changed.'));
      return;
    }
    if (action !== 'ok') {
      await interaction.reply({ ...renderNotice('That button is not one I know.'), flags: MessageFlags.Ephemeral });
      return;
    }
    const taken = await admin.take<Staged>(arg, interaction.user.id);
    if (!taken.ok) {
      if (taken.reason === 'not-yours') {
        await interaction.reply({ ...renderNotice('Only the moderator who ran the command can confirm it.'), flags: MessageFlags.Ephemeral });
      } else {
        await interaction.update(renderNotice(EXPIRED));
      }
      return;
    }
    const staged = taken.data;
    // Acknowledge before any work (a large article's preview can take longer than Discord's
    // 3 seconds); every path below ends by editing this message.
    await interaction.deferUpdate();
    await interaction.editReply(renderNotice(staged.kind === 'add' ? 'Replacing…' : 'Removing…'));
    await userErrors(
      async () => {
        if (staged.kind === 'add') {
          // Replaces only what the moderator was shown, re-checked under the article's lock.
          const result = await admin.add(staged.raw, actorOf(interaction), { replace: true, confirmed: staged.replaces });
          if (result.status === 'needs-confirmation') {
            // Another edit landed since the question: ask again with what would be replaced now.
            const token = await admin.stage(interaction.user.id, { ...staged, replaces: replacementKey(result.preview.replaces) });
            await interaction.editReply(renderReplaceConfirm(result.preview, token));
            return;
          }
          ctx.logger.info({ userId: interaction.user.id, articleId: result.id, status: result.status }, 'kb add (confirmed)');
          await interaction.editReply(renderAddResult(result));
        } else {
          const { removed, files } = await admin.remove(staged.id, actorOf(interaction));
          ctx.logger.info({ userId: interaction.user.id, articleId: removed.id }, 'kb remove');
          await interaction.editReply(renderRemoved(removed, files));
        }
      },
      (message) => interaction.editReply(renderNotice(message)),
    );
  },
};

export const kbButtons: ButtonHandler[] = [kbButton];

// ---------------------------------------------------------------------------------------------
// Modal: kbadd (title + text)
// ---------------------------------------------------------------------------------------------

export const kbAddModal: ModalHandler = {
  prefix: KB_MODAL,
  async execute(interaction: ModalSubmitInteraction, ctx: BotContext): Promise<void> {
    const admin = await kbAccess(interaction, ctx, 'write');
    if (!admin) return;
    const raw = await checkedBeforeDefer(interaction, () => admin.fromText(interaction.fields.getTextInputValue('title'), interaction.fields.getTextInputValue('text'), 'typed in Discord'));
    if (!raw) return;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await userErrors(
      () => finishAdd(interaction, ctx, admin, raw),
      (message) => interaction.editReply(renderNotice(message)),
    );
  },
};

export const kbModals: ModalHandler[] = [kbAddModal];
