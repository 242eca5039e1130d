/**
 * "What's new": the articles published (or, undated, added) in a period, newest first, each by
 * the lead sentence of its own extractive summary, cited. Periods are written the way members
 * write them ("last Monday", "1 March 2005", "2004") and read like time in questions: relative to
 * the newest article, so a digest of an archive and of a live feed mean the same thing.
 */
import * as chrono from 'chrono-node';
import { UserInputError } from '../errors.js';
import type { ArticleRecord } from '../store/catalog.js';
import type { SummaryLength, SummaryResult, SummaryResultSentence } from '../summarize/service.js';
import type { Source } from '../types.js';
import { formatArticleDate, parseTimeQuery } from './time-query.js';

/** Days a digest covers when no period is given. */
export const DEFAULT_LATEST_DAYS = 7;
const ARTICLES_PER_LENGTH: Record<SummaryLength, number> = { short: 3, medium: 5, long: 8 };
const DAY = 86_400_000;

export interface Period {
  from?: string;
  to?: string;
}

/** When an article counts as new: its publication date, else when it was added. */
export function articleTime(a: Pick<ArticleRecord, 'date' | 'addedAt'>): number {
  const published = a.date ? Date.parse(a.date) : Number.NaN;
  return Number.isFinite(published) ? published : Date.parse(a.addedAt);
}

/**
 * The reference for relative periods: the newest publication date, as for questions; when no
 * article is dated, the newest addition; with no articles, now.
 */
export function newestTime(articles: Pick<ArticleRecord, 'date' | 'addedAt'>[]): Date {
  let published = Number.NEGATIVE_INFINITY;
  let added = Number.NEGATIVE_INFINITY;
  for (const a of articles) {
    const p = a.date ? Date.parse(a.date) : Number.NaN;
    if (Number.isFinite(p) && p > published) published = p;
    const t = Date.parse(a.addedAt);
    if (Number.isFinite(t) && t > added) added = t;
  }
  if (Number.isFinite(published)) return new Date(published);
  return Number.isFinite(added) ? new Date(added) : new Date();
}

/**
 * `since` / `until` as a member typed them → a window: since the start of the named day, month or
 * year; until its end. Throws a UserInputError that shows how to write a date.
 */
export function periodFromOptions(since: string | undefined, until: string | undefined, reference: Date): Period {
  const read = (text: string, which: 'since' | 'until'): string => {
    const w = parseTimeQuery(`in ${text.trim()}`, reference) ?? parseTimeQuery(text.trim(), reference);
    const bound = which === 'since' ? w?.from : (w?.to ?? w?.from);
    if (!bound || w?.recency) {
      const parsed = chrono.parseDate(text, { instant: reference, timezone: 'UTC' });
      if (parsed) return parsed.toISOString();
      throw new UserInputError(`I could not read “${text.trim().slice(0, 80)}” as a date. Write it like 2005-03-01, 1 March 2005, March 2005, 2004 or last Monday.`);
    }
    return bound;
  };
  const period: Period = {
    ...(since?.trim() ? { from: read(since, 'since') } : {}),
    ...(until?.trim() ? { to: read(until, 'until') } : {}),
  };
  if (period.from && period.to && period.from >= period.to) throw new UserInputError('“since” must be before “until”.');
  return period;
}

/** "1 Mar 2005 – 15 Mar 2005", "since 1 Mar 2005", "up to 15 Mar 2005". */
export function describePeriod(p: Period): string {
  const from = p.from ? formatArticleDate(p.from) : undefined;
  const last = p.to ? formatArticleDate(new Date(Date.parse(p.to) - 1).toISOString()) : undefined;
  if (from && last) return from === last ? `on ${from}` : `${from} – ${last}`;
  if (from) return `since ${from}`;
  if (last) return `up to ${last}`;
  return 'at any time';
}

export interface LatestSource {
  listArticles(): Promise<ArticleRecord[]>;
  summarizeArticle(articleRef: string, length?: SummaryLength): Promise<SummaryResult>;
}

/**
 * The digest of a period (default: the last DEFAULT_LATEST_DAYS days up to the newest article).
 * `summaries` is the server's summary service, `articles` what it reads from.
 */
export async function summarizeLatest(
  articles: Pick<LatestSource, 'listArticles'>,
  summaries: Pick<LatestSource, 'summarizeArticle'>,
  options: { since?: string; until?: string; length?: SummaryLength } = {},
): Promise<SummaryResult> {
  const length = options.length ?? 'medium';
  const all = await articles.listArticles();
  const reference = newestTime(all);
  let period = periodFromOptions(options.since, options.until, reference);
  if (!period.from && !period.to) {
    const end = Date.UTC(reference.getUTCFullYear(), reference.getUTCMonth(), reference.getUTCDate()) + DAY;
    period = { from: new Date(end - DEFAULT_LATEST_DAYS * DAY).toISOString(), to: new Date(end).toISOString() };
  }
  const from = period.from ? Date.parse(period.from) : Number.NEGATIVE_INFINITY;
  const to = period.to ? Date.parse(period.to) : Number.POSITIVE_INFINITY;
  const inPeriod = all
    .filter((a) => {
      const t = articleTime(a);
      return t >= from && t < to;
    })
    .sort((a, b) => articleTime(b) - articleTime(a));
  const shown = inPeriod.slice(0, ARTICLES_PER_LENGTH[length]);
  const title = `What's new ${describePeriod(period)}${inPeriod.length > shown.length ? ` (the newest ${shown.length} of ${inPeriod.length} articles)` : ''}`;
  const base = { kind: 'latest' as const, title, length, cached: false };
  if (shown.length === 0) {
    const message = `No article was published or added ${describePeriod(period)}. Try a longer period with \`since:\`.`;
    return { ...base, found: false, text: message, message, sentences: [], sources: [] };
  }

  const sentences: SummaryResultSentence[] = [];
  const sources: Source[] = [];
  for (const article of shown) {
    const summary = await summaries.summarizeArticle(article.id, 'short');
    const lead = summary.sentences[0];
    const source = lead ? summary.sources.find((s) => s.n === lead.n) : undefined;
    if (!lead || !source) continue;
    const n = sources.length + 1;
    sources.push({ ...source, n, ...(article.date ? { date: article.date } : {}) });
    sentences.push({ ...lead, n });
  }
  return { ...base, found: sentences.length > 0, text: sentences.map((s) => `${s.text} [${s.n}]`).join(' '), sentences, sources };
}
