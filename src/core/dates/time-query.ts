/**
 * Time in a question ("last week", "in March", "since Monday", "in 2004", "latest") → the window
 * of publication dates to answer from. Dates are read with chrono-node (maintained, handles
 * relative and absolute English expressions); bare years and "before/after/since/until/between"
 * are read here, since chrono leaves them out.
 *
 * Relative expressions are read relative to the newest article of the knowledge base, not to the
 * clock: "last week" in an archive of 2005 news means the last week of that archive, and in a
 * knowledge base fed by live feeds the newest article is from today anyway. A question about a
 * period the articles do not cover then finds nothing rather than the wrong period.
 */
import * as chrono from 'chrono-node';

/** Half-open window [from, to) of publication dates (ISO 8601); a missing end is open. */
export interface DateWindow {
  from?: string;
  to?: string;
  /** The words of the question that set it ("last week", "latest"). */
  text: string;
  /** "latest", "recent": the newest articles (the window is the last RECENT_DAYS before the newest). */
  recency?: boolean;
}

/** "Latest" / "recent" means published within this many days of the newest article. */
export const RECENT_DAYS = 14;

const DAY = 86_400_000;
const RECENCY = /\b(?:the\s+)?(latest|newest|most recent|recent(?:ly)?|lately|what'?s new|these days)\b/i;
const BARE_YEAR = /\b(?:(in|during|since|from|after|before|until|till|by)\s+)?((?:19|20)\d{2})\b/gi;

interface Period {
  start: number;
  end: number;
  text: string;
  index: number;
}

/**
 * The date window a question asks about, relative to `reference` (the newest article's date), or
 * undefined when the question has no time in it.
 */
export function parseTimeQuery(question: string, reference: Date): DateWindow | undefined {
  const periods = chronoPeriods(question, reference);
  for (const year of bareYears(question)) if (!periods.some((p) => overlaps(p, year))) periods.push(year);
  periods.sort((a, b) => a.index - b.index);

  if (periods.length > 0) {
    const first = periods[0];
    const last = periods[periods.length - 1];
    const before = question.slice(Math.max(0, first.index - 12), first.index).toLowerCase();
    const preposition = before.match(/\b(in|on|during|since|after|before|until|till|from|between|by|up to|over)\s*$/)?.[0].length ?? 0;
    const text = question.slice(first.index - preposition, last.index + last.text.length).trim();
    if (periods.length >= 2 && /\b(between|from)\s*$/.test(question.slice(0, first.index).toLowerCase())) return window(first.start, last.end, text);
    if (/\b(since|after|from)\s*$/.test(before)) return window(/\bafter\s*$/.test(before) ? first.end : first.start, undefined, text);
    if (/\b(before)\s*$/.test(before)) return window(undefined, first.start, text);
    if (/\b(until|till|up to)\s*$/.test(before)) return window(undefined, first.end, text);
    return window(Math.min(...periods.map((p) => p.start)), Math.max(...periods.map((p) => p.end)), text);
  }

  const recent = question.match(RECENCY);
  if (recent) return { from: new Date(reference.getTime() - RECENT_DAYS * DAY).toISOString(), text: recent[0], recency: true };
  return undefined;
}

function window(from: number | undefined, to: number | undefined, text: string): DateWindow {
  return { ...(from !== undefined ? { from: new Date(from).toISOString() } : {}), ...(to !== undefined ? { to: new Date(to).toISOString() } : {}), text };
}

function overlaps(a: Period, b: Period): boolean {
  return a.index < b.index + b.text.length && b.index < a.index + a.text.length;
}

/** chrono's results as whole periods: a day, a month or a year as the expression names it. */
function chronoPeriods(question: string, reference: Date): Period[] {
  const results = chrono.parse(question, { instant: reference, timezone: 'UTC' }, { forwardDate: false });
  const out: Period[] = [];
  for (const r of results) {
    const text = r.text;
    if (!isPeriod(question, r.index, text)) continue;
    let at = r.start.date();
    // "in May" asked in March means the May before, not the one to come.
    if (at.getTime() > reference.getTime() + DAY && !r.start.isCertain('year') && r.start.isCertain('month')) {
      at = new Date(Date.UTC(at.getUTCFullYear() - 1, at.getUTCMonth(), at.getUTCDate()));
    }
    // Articles are not published after the newest one: "next six years", "in five years" are not about them.
    if (at.getTime() > reference.getTime() + DAY) continue;
    let start: number;
    let end: number;
    if (/\b(last|past|previous)\b/i.test(text) && /\b(week|weeks|days|day|hours?)\b/i.test(text)) {
      // "last week", "the past two weeks": a rolling window up to the reference.
      start = startOfDay(at);
      end = reference.getTime() + DAY;
    } else if (r.start.isCertain('day') || r.start.isCertain('weekday')) {
      start = startOfDay(at);
      end = start + DAY;
    } else if (r.start.isCertain('month')) {
      start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
      end = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
    } else if (r.start.isCertain('year')) {
      start = Date.UTC(at.getUTCFullYear(), 0, 1);
      end = Date.UTC(at.getUTCFullYear() + 1, 0, 1);
    } else {
      continue;
    }
    if (r.end) end = Math.max(end, startOfDay(r.end.date()) + DAY);
    out.push({ start, end, text, index: r.index });
  }
  return out;
}

/** Words chrono reads as dates that, alone, are not a period a question is about. */
const NOT_A_PERIOD = /^(now|today|tonight|right now|currently|sun|sat|mon|tue|tues|wed|thu|thur|thurs|fri)$/i;
const WEEKDAY = /^(on\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?$/i;

/**
 * Filters chrono's reading of a question: "now", "Sun Life", "7/7 bombings" and "Friday the 13th"
 * are not periods. A weekday counts only after on/since/last/this/before/after/until ("on
 * Monday"), a bare day/month only with a year.
 */
function isPeriod(question: string, index: number, text: string): boolean {
  const t = text.trim();
  if (/^\d+$/.test(t) || NOT_A_PERIOD.test(t)) return false;
  if (/^\d{1,2}[/.-]\d{1,2}$/.test(t)) return false;
  // "may" and "march" are verbs too: a month only after a preposition ("in May").
  if (WEEKDAY.test(t) || /^(may|march)$/i.test(t)) {
    if (/^on\s/i.test(t)) return true;
    return /\b(on|in|during|since|last|this|before|after|until|till|from|of)\s*$/i.test(question.slice(0, index));
  }
  return true;
}

function bareYears(question: string): Period[] {
  const out: Period[] = [];
  for (const m of question.matchAll(BARE_YEAR)) {
    // "the 2006 world cup" names an event; "in 2006" names a period.
    if (!m[1]) continue;
    const year = Number(m[2]);
    const index = (m.index ?? 0) + m[0].length - m[2].length;
    out.push({ start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1), text: m[2], index });
  }
  return out;
}

function startOfDay(date: Date): number {
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

/** Whether an article's date falls in the window; an undated article never does. */
export function inWindow(date: string | undefined, w: Pick<DateWindow, 'from' | 'to'>): boolean {
  if (!date) return false;
  const t = Date.parse(date);
  if (!Number.isFinite(t)) return false;
  if (w.from && t < Date.parse(w.from)) return false;
  if (w.to && t >= Date.parse(w.to)) return false;
  return true;
}

/** The question without its time words, for searching ("What happened in Iraq last week?" → "What happened in Iraq?"). */
export function withoutTime(question: string, w: DateWindow): string {
  let stripped = question.replace(w.text, ' ');
  // "in the past two weeks" leaves "in the": the words left dangling go one at a time, from the end.
  for (let before = ''; before !== stripped; ) {
    before = stripped;
    stripped = stripped.replace(/\b(in|on|over|during|since|after|before|until|from|between|the)\s*(?=[?.!]|$)/gi, ' ').replace(/\s+(?=[?.!]|$)/g, '');
  }
  stripped = stripped.replace(/\s+/g, ' ').trim();
  return stripped.replace(/\s+([?.!])/g, '$1') || question;
}

/** "12 Mar 2005": how an article's date is shown under answers. */
export function formatArticleDate(date: string | undefined): string | undefined {
  if (!date) return undefined;
  const t = Date.parse(date);
  if (!Number.isFinite(t)) return undefined;
  return new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/**
 * The publication date a text states at its start, as a dateline: a first paragraph that is only
 * a date ("12 March 2005", "Published: 12 March 2005 10:04 GMT"), or a date after a place at the
 * start of the first paragraph ("LONDON, March 12, 2005 — …"). A date mentioned later in the text
 * is what the article talks about, not when it was published, so it is not taken.
 */
export function datelineOf(body: string): string | undefined {
  const first = body.trim().split(/\n\s*\n/)[0]?.trim() ?? '';
  if (!first) return undefined;
  const head = first.slice(0, 160);
  const [r] = chrono.parse(head, { instant: new Date(Date.UTC(2000, 0, 1)), timezone: 'UTC' });
  if (!r || !r.start.isCertain('year') || !r.start.isCertain('month')) return undefined;
  const before = head.slice(0, r.index).trim();
  const alone = first.length <= 80 && first.replace(r.text, '').replace(/\b(published|updated|posted|date|on|at|gmt|utc|bst)\b|[:|,.\-–—\s]/gi, '').length <= 5;
  const dateline = r.index <= 40 && /^(?:[\p{Lu}][\p{Lu}\s.'()-]*,?|(?:published|updated|posted|date)\s*:?)?$/u.test(before);
  if (!alone && !dateline) return undefined;
  const at = r.start.date();
  const day = r.start.isCertain('day') ? at.getUTCDate() : 1;
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), day)).toISOString().slice(0, 10);
}

/** A line under an answer that says which articles it was read from, for `AskResult.time`. */
export function describeTime(time: { text: string; from?: string; to?: string; widened?: boolean }): string {
  if (time.widened) return `No article from “${time.text}” answers this; answered from all articles`;
  const from = time.from ? formatArticleDate(time.from) : undefined;
  // `to` is exclusive: the last day in the window is the day before.
  const last = time.to ? formatArticleDate(new Date(Date.parse(time.to) - 1).toISOString()) : undefined;
  if (from && last) return from === last ? `From articles published on ${from}` : `From articles published ${from} – ${last}`;
  if (from) return `From articles published since ${from}`;
  if (last) return `From articles published up to ${last}`;
  return `From articles of “${time.text}”`;
}
