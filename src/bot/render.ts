/**
 * Pure functions: core results → Discord message payloads. No I/O, no discord.js client.
 *
 * Every payload respects Discord's limits by construction (see {@link LIMITS}): text is cut with
 * "…", sources that do not fit are dropped (and the footer says how many), passages are spread
 * over several messages. Every payload carries `allowedMentions: { parse: [] }`, and text quoted
 * from articles or users has its mentions neutralised, so nothing the bot posts can ping anyone.
 */
import { describeTime, formatArticleDate } from '../core/dates/time-query.js';
import {
  ButtonStyle,
  ComponentType,
  escapeMarkdown,
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIEmbed,
  type APIEmbedField,
} from 'discord.js';
import { LAYER_LABELS, type AskResult, type Layer, type Source } from '../core/types.js';
import type { StoredSource } from '../core/store/feedback.js';
import type { SummaryResult } from '../core/summarize/service.js';

/** Discord's limits (characters are UTF-16 code units here, which is never fewer than Discord counts). */
export const LIMITS = {
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  fieldName: 256,
  fieldValue: 1024,
  fields: 25,
  footerText: 2048,
  authorName: 256,
  /** Sum of title, description, field names and values, footer text and author name of all embeds of a message. */
  embedTotal: 6000,
  embedsPerMessage: 10,
  customId: 100,
  buttonLabel: 80,
} as const;

/** Nobody is ever pinged by what the bot posts. */
export const NO_MENTIONS = { parse: [] as never[] } as const;

export interface MessagePayload {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIActionRowComponent<APIButtonComponentWithCustomId>[];
  allowedMentions: { parse: never[] };
}

/** Custom-id prefixes of the buttons under an answer (the button router is keyed by them). */
export const BUTTON = {
  passages: 'passages',
  feedback: 'feedback',
} as const;

export const COLORS = { answer: 0x3b82f6, noAnswer: 0xf59e0b, passages: 0x64748b } as const;

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/**
 * Cuts `text` to at most `max` characters, ending with "…" when cut (at a word boundary when one
 * is near, never inside a surrogate pair).
 */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  if (text.length <= max) return text;
  if (max === 1) return '…';
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const space = cut.search(/\s\S*$/);
  if (space > max * 0.8) cut = cut.slice(0, space);
  // A dangling escape backslash would escape the ellipsis.
  cut = cut.trimEnd().replace(/\\+$/, (m) => (m.length % 2 === 1 ? m.slice(1) : m));
  return `${cut}…`;
}

/**
 * Makes mentions inert even where `allowedMentions` does not reach (e.g. text a user copies):
 * `@everyone`/`@here` and `<@id>`, `<@!id>`, `<@&role>` get a zero-width space after the `@`.
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@(everyone|here)/gi, '@\u200b$1').replace(/<@([!&]?\d)/g, '<@\u200b$1');
}

/** Article or user text shown verbatim: markdown escaped, mentions neutralised. */
export function quoteText(text: string): string {
  return neutralizeMentions(
    escapeMarkdown(text, { heading: true, bulletedList: true, numberedList: true, maskedLink: true }),
  );
}

/**
 * `quoteText` then `truncate`, escaping only the part that can be shown (escaping is quadratic on
 * long texts, and only ever adds characters, so the first `max + 1` input characters decide the output).
 */
export function quoteFit(text: string, max: number, quote: (t: string) => string = quoteText): string {
  return truncate(quote(text.slice(0, max + 1)), max);
}

/**
 * Quoted text with one span in bold (the reader's answer inside the quoted sentence), within
 * `max`. Each piece is escaped and has its mentions neutralised on its own, so text in or around
 * the span can neither close the bold early nor ping anyone (the core widens the span to whole
 * words, so the markers never split a mention). When the span would not fit whole, or does not lie
 * inside the text, the text is quoted without bold rather than with a dangling `**`.
 */
export function quoteWithBold(text: string, span: { start: number; end: number } | undefined, max: number): string {
  if (!span || !(span.start >= 0 && span.end <= text.length && span.end > span.start)) return quoteFit(text, max);
  const before = quoteText(text.slice(0, span.start));
  const bold = quoteText(text.slice(span.start, span.end));
  const room = max - before.length - bold.length - 4; // the two `**`
  if (!bold.trim() || room < 1) return quoteFit(text, max);
  return `${before}**${bold}**${quoteFit(text.slice(span.end), room)}`;
}

/** Link text: like {@link quoteText}, plus brackets escaped so `[text](<url>)` stays one link. */
function linkText(text: string): string {
  return quoteText(text).replace(/[[\]]/g, '\\$&');
}

/** Only plain http(s) URLs become links (no whitespace or angle bracket that could break out of `(<url>)`). */
export function safeUrl(url: string | undefined | null): string | undefined {
  if (!url) return undefined;
  if (!/^https?:\/\/[^\s<>]+$/i.test(url) || url.length > 1000) return undefined;
  return url;
}

/**
 * `[Title · 12 Mar 2005 · ¶ n](<url>)` (angle brackets: no link preview) or the same without a
 * link, within `max`; the date is the article's publication date, when known.
 */
export function sourceLabel(source: { title: string; paragraph: number; url?: string | null; layer?: Layer; date?: string }, max: number = LIMITS.fieldValue): string {
  const date = formatArticleDate(source.date);
  const suffix = `${date ? ` · ${date} ·` : ''} ¶ ${source.paragraph}${layerSuffix(source.layer)}`;
  const url = safeUrl(source.url);
  if (url) {
    const room = max - suffix.length - url.length - 6; // [ ] ( < > )
    if (room >= 20) return `[${quoteFit(source.title, room, linkText)}${suffix}](<${url}>)`;
  }
  return `${quoteFit(source.title, max - suffix.length, linkText)}${suffix}`;
}

/** ` · this server` / ` · shared library` in a layered knowledge base (KB_SCOPE=server); nothing otherwise. */
export function layerSuffix(layer: Layer | undefined): string {
  return layer ? ` · ${LAYER_LABELS[layer]}` : '';
}

/** Characters Discord counts toward the 6,000 of a message. */
export function embedLength(embed: APIEmbed): number {
  let n = (embed.title?.length ?? 0) + (embed.description?.length ?? 0);
  n += (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
  for (const f of embed.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export interface AnswerViewOptions {
  /** Id of the stored question: enables the "Show passages" and 👍 / 👎 buttons. */
  questionId?: number;
  /** A line for the footer, e.g. how to ask a follow-up. */
  hint?: string;
}

const MAX_HINT = 200;
/** Room kept in the footer for "+N more sources…". */
const MORE_NOTE_ROOM = 80;

function answerButtons(questionId: number): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  const button = (customId: string, label: string, emoji?: string): APIButtonComponentWithCustomId => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    custom_id: customId.slice(0, LIMITS.customId),
    label: label.slice(0, LIMITS.buttonLabel),
    ...(emoji ? { emoji: { name: emoji } } : {}),
  });
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        button(`${BUTTON.passages}:${questionId}`, 'Show passages', '📖'),
        button(`${BUTTON.feedback}:up:${questionId}`, 'Helpful', '👍'),
        button(`${BUTTON.feedback}:down:${questionId}`, 'Not helpful', '👎'),
      ],
    },
  ];
}

/**
 * An answer: the question as title, the answer text (with its [n] markers, the reader's answer
 * span in bold) as description, one
 * field per numbered source, buttons. Sources beyond 25 fields or the 6,000-character budget are
 * left out and counted in the footer ("Show passages" still lists them all).
 */
export function renderAnswer(result: Pick<AskResult, 'question' | 'answer' | 'sources' | 'time' | 'highlight'>, options: AnswerViewOptions = {}): MessagePayload {
  const title = quoteFit(result.question, LIMITS.embedTitle);
  const description = quoteWithBold(result.answer, result.highlight, LIMITS.embedDescription) || '…';
  const hintText = [result.time ? describeTime(result.time) : '', options.hint ?? ''].filter(Boolean).join(' · ');
  const hint = hintText ? truncate(hintText, MAX_HINT) : '';

  return citedMessage({ title, description, hint, sources: result.sources, field: (source) => ({ name: `[${source.n}]`, value: sourceLabel(source) }), questionId: options.questionId });
}

/**
 * The embed an answer and a summary share: one field per source while they fit in 25 fields and
 * the 6,000-character budget, the rest counted in the footer ("Show passages" still lists them
 * all), and the buttons when the question was stored.
 */
function citedMessage(m: {
  title: string;
  description: string;
  url?: string;
  hint: string;
  sources: Source[];
  field: (source: Source) => APIEmbedField;
  questionId?: number;
}): MessagePayload {
  let budget = LIMITS.embedTotal - m.title.length - m.description.length - m.hint.length - MORE_NOTE_ROOM;
  const fields: APIEmbedField[] = [];
  for (const source of m.sources) {
    if (fields.length >= LIMITS.fields) break;
    const field = m.field(source);
    const size = field.name.length + field.value.length;
    if (size > budget) break;
    budget -= size;
    fields.push(field);
  }
  const dropped = m.sources.length - fields.length;
  const footerParts = [dropped > 0 ? `+${dropped} more source${dropped === 1 ? '' : 's'}: use Show passages` : '', m.hint].filter(Boolean);

  const embed: APIEmbed = { title: m.title, description: m.description, color: COLORS.answer, ...(m.url ? { url: m.url } : {}) };
  if (fields.length > 0) embed.fields = fields;
  if (footerParts.length > 0) embed.footer = { text: truncate(footerParts.join(' · '), LIMITS.footerText) };
  return {
    embeds: [embed],
    components: m.questionId !== undefined ? answerButtons(m.questionId) : [],
    allowedMentions: { parse: [] },
  };
}

/** "No answer": says so (no guessing) and suggests the closest articles. */
export function renderNoAnswer(result: Pick<AskResult, 'question' | 'suggestions'>, options: { hint?: string } = {}): MessagePayload {
  const title = quoteFit(result.question, LIMITS.embedTitle);
  const lines = ["I couldn't find an answer to that in the knowledge base, so I won't guess."];
  if (result.suggestions.length > 0) {
    lines.push('', '**Closest articles:**');
    for (const s of result.suggestions) {
      const url = safeUrl(s.url);
      const name = quoteFit(s.title, 200, linkText);
      lines.push(url ? `• [${name}](<${url}>)` : `• ${name}`);
    }
    lines.push('', 'Try asking with words those articles use.');
  } else {
    lines.push('', 'Nothing in the knowledge base looks close to it.');
  }
  const embed: APIEmbed = {
    title,
    description: truncate(lines.join('\n'), LIMITS.embedDescription),
    color: COLORS.noAnswer,
  };
  if (options.hint) embed.footer = { text: truncate(options.hint, MAX_HINT) };
  return { embeds: [embed], components: [], allowedMentions: { parse: [] } };
}

/**
 * "Show passages": the cited paragraphs in full with their sources, one embed each, spread over
 * as many messages as the 10-embed / 6,000-character limits need (first = reply, rest = follow-ups).
 */
export function renderPassages(sources: StoredSource[]): MessagePayload[] {
  if (sources.length === 0) return [renderNotice('This answer has no passages to show.')];
  const messages: MessagePayload[] = [];
  let current: APIEmbed[] = [];
  let total = 0;
  for (const source of sources) {
    const url = safeUrl(source.url);
    const embed: APIEmbed = {
      title: truncate(`[${source.n}] ${quoteFit(source.title, LIMITS.embedTitle)} ¶ ${source.paragraph}${layerSuffix(source.layer)}`, LIMITS.embedTitle),
      description: quoteFit(source.text, LIMITS.embedDescription) || '…',
      color: COLORS.passages,
      ...(url ? { url } : {}),
    };
    const size = embedLength(embed);
    if (current.length > 0 && (current.length >= LIMITS.embedsPerMessage || total + size > LIMITS.embedTotal)) {
      messages.push({ embeds: current, components: [], allowedMentions: { parse: [] } });
      current = [];
      total = 0;
    }
    current.push(embed);
    total += size;
  }
  messages.push({ embeds: current, components: [], allowedMentions: { parse: [] } });
  return messages;
}

/** Plain text (a user-input problem, a note); replaces any embed or button. */
export function renderNotice(text: string): MessagePayload {
  return { content: truncate(neutralizeMentions(text), LIMITS.content), embeds: [], components: [], allowedMentions: { parse: [] } };
}

/** A handler failed: a short apology with the id that is in the logs. */
export function renderError(errorId: string): MessagePayload {
  return renderNotice(`Sorry, something went wrong while answering. Please try again in a moment. (error id \`${errorId}\`)`);
}

export function renderTimeout(ms: number): MessagePayload {
  const seconds = Math.round(ms / 1000);
  return renderNotice(
    `Sorry, that took too long (more than ${seconds} s), so I stopped. Please try again in a moment, or ask a shorter, more specific question.`,
  );
}

export function renderCooldown(retryAfterMs: number): MessagePayload {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return renderNotice(`You're asking quickly! Please wait ${seconds} s before your next question.`);
}

/** Thread names: max 100 characters, one line. */
export function threadName(question: string): string {
  return truncate(question.replace(/\s+/g, ' ').trim(), 100) || 'Question';
}

// ---------------------------------------------------------------------------------------------
// Summaries (`/summary`)
// ---------------------------------------------------------------------------------------------

export type SummaryView = Pick<SummaryResult, 'kind' | 'title' | 'url' | 'found' | 'text' | 'message' | 'sources'>;

/**
 * A summary, laid out like an answer: the article title (linked to the article when its URL is
 * known) or "Topic: …" as title, the sentences with their [n] markers as description, one field
 * per source, the buttons. An article summary's sources are all that article's, so its fields
 * name just the paragraph (`¶ 4`, inline); a topic summary's name article and paragraph.
 * Nothing found: says so (the core's message), no buttons. Same limits as {@link renderAnswer}.
 */
export function renderSummary(result: SummaryView, options: AnswerViewOptions = {}): MessagePayload {
  const url = result.kind === 'article' ? safeUrl(result.url) : undefined;
  const title = quoteFit(result.kind === 'topic' ? `Topic: ${result.title}` : result.title, LIMITS.embedTitle) || 'Summary';
  const hint = options.hint ? truncate(options.hint, MAX_HINT) : '';
  if (!result.found) {
    const embed: APIEmbed = {
      title,
      description: quoteFit(result.message ?? result.text, LIMITS.embedDescription) || 'Nothing to summarise.',
      color: COLORS.noAnswer,
      ...(url ? { url } : {}),
    };
    if (hint) embed.footer = { text: hint };
    return { embeds: [embed], components: [], allowedMentions: { parse: [] } };
  }

  const description = quoteFit(result.text, LIMITS.embedDescription) || '…';
  return citedMessage({
    title,
    description,
    url,
    hint,
    sources: result.sources,
    // An article summary's sources are all that article's: the paragraph is enough.
    field: (source) => (result.kind === 'article' ? { name: `[${source.n}]`, value: `¶ ${source.paragraph}`, inline: true } : { name: `[${source.n}]`, value: sourceLabel(source) }),
    questionId: options.questionId,
  });
}
