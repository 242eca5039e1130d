/**
 * `/kb` views: core results → Discord payloads (pure, no I/O). Every payload respects Discord's
 * limits and carries `allowedMentions: { parse: [] }`; article text and titles are quoted.
 */
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponentWithCustomId, type APIEmbed } from 'discord.js';
import type { AddPreview, AddResult, ArticleDetails, ArticlePage, AuditEntry } from '../../core/admin/index.js';
import { formatBytes } from '../../core/admin/index.js';
import type { KnowledgeBaseStats, ReindexProgress, ReindexReport } from '../../core/knowledge-base.js';
import type { ArticleRecord } from '../../core/store/catalog.js';
import type { UsageStats } from '../../core/store/feedback.js';
import { formatArticleDate } from '../../core/dates/time-query.js';
import { LIMITS, quoteFit, safeUrl, truncate, type MessagePayload } from '../render.js';

export const KB_BUTTON = 'kb';
export const KB_MODAL = 'kbadd';
export const KB_COLORS = { ok: 0x22c55e, warn: 0xf59e0b, info: 0x3b82f6, danger: 0xef4444 } as const;

type Row = APIActionRowComponent<APIButtonComponentWithCustomId>;

const NO_MENTIONS = { parse: [] as never[] };

function button(
  customId: string,
  label: string,
  style: ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success | ButtonStyle.Danger = ButtonStyle.Secondary,
  disabled = false,
): APIButtonComponentWithCustomId {
  return { type: ComponentType.Button, style, custom_id: customId.slice(0, LIMITS.customId), label: label.slice(0, LIMITS.buttonLabel), disabled };
}

function payload(embed: APIEmbed, components: Row[] = []): MessagePayload {
  return { content: '', embeds: [embed], components, allowedMentions: NO_MENTIONS };
}

/** `<t:…:R>`: Discord shows "3 minutes ago" in the reader's locale. */
function when(iso: string | undefined): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `<t:${Math.floor(t / 1000)}:R>`;
}

const title = (t: string, max: number = LIMITS.embedTitle) => quoteFit(t, max);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderAddResult(r: AddResult): MessagePayload {
  const verb = r.status === 'added' ? 'Added' : r.status === 'replaced' ? 'Replaced' : 'Already up to date';
  const lines = [
    `**Paragraphs:** ${r.paragraphs} (${plural(r.passages, 'passage')})`,
    `**Duplicates dropped:** ${r.duplicatesDropped}`,
    `**Seconds:** ${r.seconds.toFixed(1)}`,
  ];
  if (r.status === 'replaced') lines.push(`**Embedded:** ${r.embedded} (unchanged paragraphs kept their vectors)`);
  if (r.status === 'unchanged') lines.push('The stored article has exactly this text: nothing was changed.');
  const others = r.replaced.filter((a) => a.id !== r.id);
  if (others.length > 0) lines.push(`**Replaced:** ${others.map((a) => quoteFit(a.title, 200)).join(', ')}`);
  if (r.file) lines.push(`**File:** \`knowledge/${r.file.replace(/`/g, '')}\``);
  // What reading the file changed (a title cut to length, …): the moderator should know.
  for (const note of r.notes.slice(0, 3)) lines.push(`ℹ️ ${quoteFit(note, 300)}`);
  const url = safeUrl(r.url);
  return payload({
    title: truncate(`${verb}: ${title(r.title, 200)}`, LIMITS.embedTitle),
    ...(url ? { url } : {}),
    description: lines.join('\n'),
    color: r.status === 'unchanged' ? KB_COLORS.info : KB_COLORS.ok,
    footer: { text: `id ${r.id}` },
  });
}

function articleLine(a: Pick<ArticleRecord, 'title' | 'paragraphs' | 'addedBy' | 'updatedAt' | 'date' | 'author'>): string {
  // Publication date and author in brackets after the title: "by" after it is who added it.
  const published = [formatArticleDate(a.date) ?? '', a.author ? quoteFit(a.author, 40) : ''].filter(Boolean).join(', ');
  return `${quoteFit(a.title, 150)}${published ? ` (${published})` : ''} · ${plural(a.paragraphs, 'paragraph')}${a.addedBy ? ` · by ${quoteFit(a.addedBy, 40)}` : ''} · ${when(a.updatedAt)}`;
}

export function renderReplaceConfirm(p: AddPreview, token: string): MessagePayload {
  const lines = [
    `A new version of **${title(p.title, 200)}** is ready: ${plural(p.paragraphs, 'paragraph')}, ${p.duplicatesDropped} duplicates dropped.`,
    '',
    `It **replaces** ${p.replaces.length === 1 ? 'this article' : 'these articles'} (same ${p.replaces.some((a) => a.id === p.id) ? 'title' : 'URL'}${p.replaces.length > 1 ? ' or URL' : ''}):`,
    ...p.replaces.map((a) => `• ${articleLine(a)}`),
    '',
    'Replace it? Paragraphs that did not change keep their vectors.',
  ];
  return payload({ title: 'Replace an existing article?', description: truncate(lines.join('\n'), LIMITS.embedDescription), color: KB_COLORS.warn }, [
    {
      type: ComponentType.ActionRow,
      components: [button(`${KB_BUTTON}:ok:${token}`, 'Replace', ButtonStyle.Danger), button(`${KB_BUTTON}:no:${token}`, 'Cancel')],
    },
  ]);
}

export function renderRemoveConfirm(a: ArticleRecord, token: string): MessagePayload {
  return payload(
    {
      title: 'Remove this article?',
      description: truncate(`${articleLine(a)}\n\nIt will no longer be used or cited in answers.`, LIMITS.embedDescription),
      color: KB_COLORS.danger,
      footer: { text: `id ${a.id}` },
    },
    [{ type: ComponentType.ActionRow, components: [button(`${KB_BUTTON}:ok:${token}`, 'Remove', ButtonStyle.Danger), button(`${KB_BUTTON}:no:${token}`, 'Cancel')] }],
  );
}

export function renderRemoved(a: ArticleRecord, files: string[]): MessagePayload {
  const lines = [`${plural(a.passages, 'passage')} removed from the index; it will not be cited again.`];
  if (files.length > 0) lines.push(`Moved ${files.map((f) => `\`knowledge/${f.replace(/`/g, '')}\``).join(', ')} to \`knowledge/.trash/\`.`);
  return payload({ title: truncate(`Removed: ${title(a.title, 200)}`, LIMITS.embedTitle), description: lines.join('\n'), color: KB_COLORS.ok, footer: { text: `id ${a.id}` } });
}

export function renderList(page: ArticlePage): MessagePayload {
  const lines = page.items.map((a, i) => `**${(page.page - 1) * page.pageSize + i + 1}.** ${articleLine(a)}`);
  const embed: APIEmbed = {
    title: `Articles (${page.total})`,
    description: truncate(lines.join('\n') || 'The knowledge base is empty. Add an article with `/kb add`.', LIMITS.embedDescription),
    color: KB_COLORS.info,
    footer: { text: `Page ${page.page} of ${page.pages}` },
  };
  const rows: Row[] =
    page.pages > 1
      ? [
          {
            type: ComponentType.ActionRow,
            components: [
              button(`${KB_BUTTON}:page:${page.page - 1}`, '◀ Previous', ButtonStyle.Secondary, page.page <= 1),
              button(`${KB_BUTTON}:page:${page.page + 1}`, 'Next ▶', ButtonStyle.Secondary, page.page >= page.pages),
            ],
          },
        ]
      : [];
  return payload(embed, rows);
}

export function renderShow(d: ArticleDetails): MessagePayload {
  const a = d.article;
  const url = safeUrl(a.url);
  const fields = [
    { name: 'Paragraphs', value: `${a.paragraphs} (${plural(a.passages, 'passage')}, ${a.duplicatesDropped} duplicates dropped)`, inline: true },
    { name: 'Added by', value: a.addedBy ? quoteFit(a.addedBy, 100) : '—', inline: true },
    { name: 'Added', value: when(a.addedAt), inline: true },
    { name: 'Updated', value: when(a.updatedAt), inline: true },
    { name: 'Source', value: quoteFit(d.file ? `knowledge/${d.file}` : a.origin, 200) || '—', inline: true },
    ...(a.date ? [{ name: 'Date', value: formatArticleDate(a.date) ?? quoteFit(a.date, 40), inline: true }] : []),
    ...(a.author ? [{ name: 'Author', value: quoteFit(a.author, 100), inline: true }] : []),
  ];
  let budget = LIMITS.embedDescription - 20;
  const parts: string[] = [];
  for (const p of d.paragraphs) {
    const text = `**¶ ${p.n}** ${quoteFit(p.text, 900)}`;
    if (text.length + 2 > budget) break;
    parts.push(text);
    budget -= text.length + 2;
  }
  return payload({
    title: title(a.title),
    ...(url ? { url } : {}),
    description: parts.join('\n\n') || '…',
    fields,
    color: KB_COLORS.info,
    footer: { text: `id ${a.id} · hash ${a.hash}` },
  });
}

export function renderReindexProgress(p: ReindexProgress, startedAt: number, now = Date.now()): MessagePayload {
  const pct = p.passages === 0 ? 100 : Math.floor((p.embedded / p.passages) * 100);
  const filled = Math.round(pct / 5);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(20 - filled)}`;
  const phase = p.phase === 'embedding' ? 'Embedding' : p.phase === 'indexing' ? 'Building the new index' : 'Swapping in';
  return payload({
    title: 'Reindexing…',
    description: [
      `${phase}: \`${bar}\` ${pct}%`,
      `${p.embedded} / ${p.passages} passages · ${plural(p.articles, 'article')} · ${Math.round((now - startedAt) / 1000)} s`,
      '',
      'Questions are still answered from the current index until the new one is swapped in.',
    ].join('\n'),
    color: KB_COLORS.info,
  });
}

export function renderReindexDone(r: ReindexReport): MessagePayload {
  const model = r.fromModel && r.fromModel !== r.model ? `${quoteFit(r.fromModel, 100)} → ${quoteFit(r.model, 100)}` : quoteFit(r.model, 200);
  return payload({
    title: 'Reindexed',
    description: [
      `**Articles:** ${r.articles}`,
      `**Passages:** ${r.passages} (all re-embedded)`,
      `**Embedding model:** ${model}`,
      `**Seconds:** ${r.seconds.toFixed(1)}`,
    ].join('\n'),
    color: KB_COLORS.ok,
  });
}

export function renderStats(s: KnowledgeBaseStats, usage: UsageStats | undefined): MessagePayload {
  const model = `${quoteFit(s.model.model, 200)} (${s.model.dimension} dimensions)`;
  const fields = [
    { name: 'Articles', value: String(s.articles), inline: true },
    { name: 'Passages', value: String(s.passages), inline: true },
    { name: 'Index size on disk', value: formatBytes(s.diskBytes), inline: true },
    { name: 'Embedding model', value: model, inline: false },
    { name: 'Last change', value: when(s.lastChange), inline: true },
    { name: 'Vector slots', value: `${s.vectorSlots} (${s.deletedSlots} free for reuse)`, inline: true },
  ];
  if (usage) {
    fields.push(
      { name: 'Questions answered', value: `${usage.answered} of ${usage.questions}`, inline: true },
      { name: 'Feedback', value: `👍 ${usage.feedbackUp} · 👎 ${usage.feedbackDown}`, inline: true },
    );
  }
  const description = s.needsReindex
    ? `⚠️ The stored vectors come from ${quoteFit(s.indexModel?.model ?? '?', 100)}: answers use keyword search only until \`/kb reindex\` re-embeds the articles.`
    : undefined;
  return payload({ title: 'Knowledge base', ...(description ? { description } : {}), fields, color: s.needsReindex ? KB_COLORS.warn : KB_COLORS.info });
}

/** One line per audit entry, for the log channel. */
export function renderAuditLog(entries: AuditEntry[]): MessagePayload {
  const verbs: Record<AuditEntry['action'], string> = { add: 'added', replace: 'replaced', remove: 'removed', reindex: 'reindexed the knowledge base', purge: 'purged the data of server' };
  const lines = entries.map((e) => {
    const who = e.actor.via === 'discord' ? `<@${e.actor.id}>` : quoteFit(e.actor.name ?? e.actor.id, 60);
    if (e.action === 'reindex') {
      const d = e.details ?? {};
      return `🔄 ${who} ${verbs.reindex} (${d.articles ?? '?'} articles, ${d.passages ?? '?'} passages, model ${quoteFit(String(d.model ?? '?'), 80)})`;
    }
    if (e.action === 'purge') {
      const d = e.details ?? {};
      return `🧹 ${who} ${verbs.purge} \`${quoteFit(String(d.server ?? '?'), 40)}\` (${d.articles ?? 0} articles, ${d.questions ?? 0} questions; ${quoteFit(String(d.reason ?? ''), 80)}) ${when(e.at)}`;
    }
    const icon = e.action === 'remove' ? '🗑️' : e.action === 'replace' ? '✏️' : '📄';
    const what = e.title ? `“${quoteFit(e.title, 150)}”` : `\`${e.articleId}\``;
    return `${icon} ${who} ${verbs[e.action]} ${what} (\`${e.articleId ?? '-'}\`, hash \`${e.contentHash ?? '-'}\`) ${when(e.at)}`;
  });
  // Titles are quoted (mentions neutralised); the actor's own mention never pings (allowedMentions).
  return { content: truncate(lines.join('\n'), LIMITS.content), embeds: [], components: [], allowedMentions: NO_MENTIONS };
}
