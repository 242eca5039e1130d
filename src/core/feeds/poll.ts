/**
 * One poll of one feed (or sitemap) into one knowledge base. No Discord and no timers here: the
 * scheduler (`poller.ts`), `/kb feed` and `npm run feeds` all call `pollFeed`.
 *
 * What it costs: the feed is asked for with If-None-Match / If-Modified-Since, so an unchanged
 * feed is one 304 and nothing else. In a changed feed, an entry whose description in the feed is
 * unchanged (same guid/link, dates, text) is not fetched again; a changed or new entry's page is
 * fetched (conditionally when it was fetched before) through the SSRF-safe fetcher and main-text
 * extraction, and the article goes through `KnowledgeAdmin.add` — the path of `/kb add` — whose
 * ingest re-embeds only the paragraphs whose hash changed.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KnowledgeAdmin } from '../admin/index.js';
import { UserInputError, type Actor } from '../knowledge-base.js';
import { decodeText, LoadError } from '../load/decode.js';
import { fetchConditional, fetchResource, type FetchOptions } from '../load/fetch-url.js';
import { htmlToArticle } from '../load/html.js';
import type { FeedRecord, PollOutcome } from '../store/feeds.js';
import type { FeedStore } from '../store/port.js';
import { feedsOf } from './store.js';
import type { RawArticle } from '../types.js';
import { FeedFormatError, parseFeedDocument, type FeedItem, type ParsedFeed } from './parse.js';

export const DEFAULT_POLL_MINUTES = 30;
export const DEFAULT_MAX_NEW_PER_POLL = 20;
/** Child sitemaps of a sitemap index read per poll, at most. */
const MAX_CHILD_SITEMAPS = 20;
/** Longest wait between polls of a failing feed. */
const MAX_BACKOFF_MS = 24 * 60 * 60_000;

const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5';

export interface FeedSettings {
  /** Minutes between polls of a healthy feed (jittered ±10 %). Default 30. */
  pollMinutes?: number;
  /** New articles indexed per feed per poll, at most; the rest wait for the next poll. Default 20. */
  maxNewPerPoll?: number;
  /** Fetcher options (time-out, size; a test may relax the address check here, nothing else can). */
  fetch?: FetchOptions;
  /** How long a poller holds a feed before another process may take it over. Default 15 minutes. */
  leaseMs?: number;
  /** This process's lease name (each poll appends its number). Default host:pid:random. */
  owner?: string;
  now?: () => Date;
  /** In [0, 1): the jitter. Default Math.random. */
  random?: () => number;
}

/** An article a poll indexed for the first time (what an announce line shows). */
export interface NewArticle {
  id: string;
  title: string;
  url?: string;
  date?: string;
  author?: string;
}

export interface PollReport {
  /** The feed after the poll. */
  feed: FeedRecord;
  /** `busy`: another poller holds the feed; nothing was done. */
  result: PollOutcome['result'] | 'busy';
  message: string;
  added: NewArticle[];
  updated: number;
  unchanged: number;
  /** Passages embedded by this poll. */
  embedded: number;
  /** New entries left for the next poll by the per-poll cap. */
  deferred: number;
  /** Entries that could not be read (neither the page nor the feed's own text). */
  failed: number;
  /** When the feed itself could not be read: why, in a moderator's words. */
  reason?: string;
}

const processOwner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
let polls = 0;

const FEED_ACTOR: Actor = { id: 'feeds', name: 'feed poller', via: 'feed' };

/** When to poll next: the interval (doubled per consecutive failure, at most a day), ±10 %. */
export function nextPollAt(now: Date, settings: FeedSettings, failures: number): Date {
  const interval = (settings.pollMinutes ?? DEFAULT_POLL_MINUTES) * 60_000;
  const base = Math.min(interval * 2 ** Math.min(failures, 10), Math.max(interval, MAX_BACKOFF_MS));
  const jitter = 0.9 + 0.2 * (settings.random ?? Math.random)();
  return new Date(now.getTime() + Math.round(base * jitter));
}

/** Checks a URL a moderator gives for a feed (the fetcher checks the address itself). */
export function normaliseFeedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UserInputError('That is not a valid URL: give the address of an RSS, Atom or JSON feed, or of a sitemap.xml (https://…). Nothing was changed.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserInputError('Only http and https feeds can be followed. Nothing was changed.');
  if (url.username || url.password) throw new UserInputError('Remove the "user:password@" part of the feed URL. Nothing was changed.');
  url.hash = '';
  return url.href;
}

/**
 * Polls one feed of `admin`'s knowledge base now, whatever its schedule, unless another poller
 * holds it (then `result: 'busy'`).
 */
export async function pollFeed(admin: KnowledgeAdmin, feedId: number, settings: FeedSettings = {}, actor: Actor = FEED_ACTOR): Promise<PollReport> {
  const store = feedsOf(admin);
  const now = settings.now?.() ?? new Date();
  // Each poll is its own lease holder: two polls in one process exclude each other too.
  const owner = `${settings.owner ?? processOwner}:${++polls}`;
  const feed = await store.get(feedId);
  if (!feed) throw new UserInputError(`There is no feed number ${feedId} (any more). See \`/kb feed list\`.`);
  const empty = { added: [], updated: 0, unchanged: 0, embedded: 0, deferred: 0, failed: 0 };
  if (!(await store.lease(feedId, owner, now, new Date(now.getTime() + (settings.leaseMs ?? 15 * 60_000))))) {
    return { feed, result: 'busy', message: 'another process is polling this feed right now; its result will show in the list', ...empty };
  }
  try {
    const outcome = await readFeed(admin, store, feed, settings, actor, now);
    const at = (settings.now?.() ?? new Date()).toISOString();
    const failures = outcome.result === 'error' ? feed.failures + 1 : 0;
    const next = nextPollAt(new Date(at), settings, failures);
    await store.recordPoll(feedId, {
      at,
      result: outcome.result,
      message: outcome.message,
      nextPollAt: next.toISOString(),
      failures,
      kind: outcome.kind,
      title: outcome.title,
      etag: outcome.etag,
      lastModified: outcome.lastModified,
      newArticles: outcome.added.length,
    });
    return { ...outcome, feed: (await store.get(feedId))! };
  } finally {
    await store.release(feedId, owner);
  }
}

interface ReadOutcome extends Omit<PollReport, 'feed' | 'result'> {
  result: PollOutcome['result'];
  kind?: FeedRecord['kind'];
  title?: string;
  etag?: string;
  lastModified?: string;
}

async function readFeed(admin: KnowledgeAdmin, store: FeedStore, feed: FeedRecord, settings: FeedSettings, actor: Actor, now: Date): Promise<ReadOutcome> {
  const counts = { added: [] as NewArticle[], updated: 0, unchanged: 0, embedded: 0, deferred: 0, failed: 0 };
  let parsed: ParsedFeed;
  let validators: { etag?: string; lastModified?: string };
  try {
    const res = await fetchResource(feed.url, { ...settings.fetch, accept: FEED_ACCEPT, ifNoneMatch: feed.etag, ifModifiedSince: feed.lastModified });
    validators = { etag: res.etag, lastModified: res.lastModified };
    if (res.status === 304) return { result: 'unchanged', message: 'not modified since the last poll (304)', ...validators, ...counts };
    parsed = parseFeedDocument(decodeText(res.body, feed.url, { fallbackEncoding: res.charset ?? xmlEncoding(res.body) }), res.url);
  } catch (error) {
    const reason = feedProblem(error);
    const advice = error instanceof FeedFormatError ? "check that the URL is the feed's own address" : 'it is tried again later';
    return { result: 'error', reason, message: `${reason}; ${advice}, and the articles already indexed are kept`, ...counts };
  }

  let items: FeedItem[];
  let kind: FeedRecord['kind'];
  let title: string | undefined;
  if (parsed.kind === 'sitemapindex') {
    kind = 'sitemap';
    items = await readSitemapIndex(store, feed, parsed.sitemaps, settings, now);
  } else {
    kind = parsed.kind;
    items = parsed.items;
    title = parsed.kind === 'feed' ? parsed.title : undefined;
  }
  // Newest first, so the cap keeps the latest news and leaves older entries for the next polls.
  const order = (i: FeedItem) => i.published ?? i.updated ?? '';
  items = [...items].sort((a, b) => (order(a) < order(b) ? 1 : order(a) > order(b) ? -1 : 0));

  const cap = settings.maxNewPerPoll ?? DEFAULT_MAX_NEW_PER_POLL;
  const problems: string[] = [];
  let full: string | undefined;
  for (const item of items) {
    const known = await store.entry(feed.id, item.key);
    if (known && known.itemHash === item.hash) {
      counts.unchanged++;
      continue;
    }
    if (!known && (counts.added.length >= cap || full)) {
      counts.deferred++;
      continue;
    }
    const read = await readEntry(item, known, feed, settings);
    if (read.status === 'not-modified') {
      await store.saveEntry({ ...entryBase(feed, item, known), itemHash: item.hash, etag: read.etag, lastModified: read.lastModified }, now);
      counts.unchanged++;
      continue;
    }
    if (read.status === 'failed') {
      counts.failed++;
      problems.push(`${item.link ?? item.key}: ${read.reason}`);
      // Remembered with its hash: retried when the feed changes the entry, not on every poll.
      await store.saveEntry({ ...entryBase(feed, item, known), itemHash: item.hash }, now);
      continue;
    }
    try {
      const result = await admin.add(read.article, actor, { replace: true });
      if (result.status === 'needs-confirmation') throw new Error('unreachable: replace was asked');
      const stored = await admin.kb.getArticle(result.id);
      await store.saveEntry(
        { ...entryBase(feed, item, known), articleId: result.id, itemHash: item.hash, contentHash: stored?.hash, etag: read.etag, lastModified: read.lastModified },
        now,
      );
      counts.embedded += result.embedded;
      if (result.status === 'unchanged') counts.unchanged++;
      else if (known?.articleId) counts.updated++;
      else
        counts.added.push({
          id: result.id,
          title: result.title,
          ...(result.url ? { url: result.url } : {}),
          ...(read.article.date ? { date: read.article.date } : {}),
          ...(item.author ? { author: item.author } : {}),
        });
    } catch (error) {
      if (!(error instanceof UserInputError)) throw error;
      // A full knowledge base, or one waiting for a reindex: stop adding, and leave the entries
      // unrecorded so the next poll after a removal or the reindex takes them.
      if (admin.kb.needsReindex || /already holds|limit of|would hold/.test(error.message)) {
        full = error.message.replace(/ Nothing was changed\.$/, '');
        if (!known) counts.deferred++;
        continue;
      }
      counts.failed++;
      problems.push(`${item.link ?? item.key}: ${error.message.replace(/ Nothing was changed\.$/, '')}`);
      await store.saveEntry({ ...entryBase(feed, item, known), itemHash: item.hash }, now);
    }
  }

  const parts = [`${items.length} ${kind === 'sitemap' ? 'pages' : 'entries'}`, `${counts.added.length} new`, `${counts.updated} updated`, `${counts.unchanged} unchanged`];
  if (counts.deferred > 0) parts.push(`${counts.deferred} left for the next poll${full ? '' : ` (at most ${cap} new per poll)`}`);
  if (counts.failed > 0) parts.push(`${counts.failed} could not be read (${truncate(problems[0], 160)}${problems.length > 1 ? ', …' : ''})`);
  let message = parts.join(', ');
  if (full) message += `. ${full}`;
  if (items.length === 0) message = `the ${kind === 'sitemap' ? 'sitemap lists no pages' : 'feed has no entries'} right now`;
  // Entries left for later must be seen next time even if the feed does not change: no 304 then.
  const keep = counts.deferred > 0 ? {} : validators;
  return { result: 'ok', message, kind, ...(title ? { title } : {}), ...keep, ...counts };
}

function entryBase(feed: FeedRecord, item: FeedItem, known: { articleId?: string } | undefined) {
  return {
    feedId: feed.id,
    key: item.key,
    ...(item.link ? { link: item.link } : {}),
    ...(known?.articleId ? { articleId: known.articleId } : {}),
    ...(item.published ? { published: item.published } : {}),
    ...(item.author ? { author: item.author } : {}),
  };
}

type EntryRead =
  | { status: 'article'; article: RawArticle; etag?: string; lastModified?: string }
  | { status: 'not-modified'; etag?: string; lastModified?: string }
  | { status: 'failed'; reason: string };

/** The entry's page through the fetcher and extraction; the feed's own text when that fails. */
async function readEntry(item: FeedItem, known: { articleId?: string; etag?: string; lastModified?: string } | undefined, feed: FeedRecord, settings: FeedSettings): Promise<EntryRead> {
  const origin = `feed:${feed.url}`;
  let pageProblem = 'the entry has no link';
  if (item.link) {
    try {
      const conditional = known?.articleId ? { ifNoneMatch: known.etag, ifModifiedSince: known.lastModified } : {};
      const res = await fetchConditional(item.link, { ...settings.fetch, ...conditional });
      if (res.status === 304) return { status: 'not-modified', etag: res.etag, lastModified: res.lastModified };
      const page = res.article;
      return {
        status: 'article',
        article: {
          // The feed's title is the headline; a page title often carries the site's name too.
          title: item.title ?? page.title,
          body: page.body,
          ...(page.url ? { url: page.url } : {}),
          ...(item.published ?? page.date ? { date: item.published ?? page.date } : {}),
          // The feed names its entry's author deliberately; a page's byline is read from markup.
          ...(item.author ?? page.author ? { author: item.author ?? page.author } : {}),
          origin,
        },
        etag: res.etag,
        lastModified: res.lastModified,
      };
    } catch (error) {
      if (!(error instanceof LoadError)) throw error;
      pageProblem = error.reason;
    }
  }
  if (item.html) {
    try {
      const fromFeed = htmlToArticle(item.html, origin, item.link);
      return {
        status: 'article',
        article: {
          title: item.title ?? fromFeed.title,
          body: fromFeed.body,
          ...(item.link ? { url: item.link } : {}),
          ...(item.published ? { date: item.published } : {}),
          ...(item.author ?? fromFeed.author ? { author: item.author ?? fromFeed.author } : {}),
          origin,
        },
      };
    } catch (error) {
      if (!(error instanceof LoadError)) throw error;
    }
  }
  return { status: 'failed', reason: pageProblem };
}

/** The pages of the child sitemaps that changed since the last poll (by <lastmod>, else by a conditional request). */
async function readSitemapIndex(store: FeedStore, feed: FeedRecord, sitemaps: { url: string; lastmod?: string }[], settings: FeedSettings, now: Date): Promise<FeedItem[]> {
  const items: FeedItem[] = [];
  const sorted = [...sitemaps].sort((a, b) => ((a.lastmod ?? '') < (b.lastmod ?? '') ? 1 : -1)).slice(0, MAX_CHILD_SITEMAPS);
  for (const child of sorted) {
    const key = `sitemap:${child.url}`;
    const known = await store.entry(feed.id, key);
    const hash = child.lastmod ?? '';
    if (known && child.lastmod && known.itemHash === hash) continue;
    try {
      const res = await fetchResource(child.url, { ...settings.fetch, accept: FEED_ACCEPT, ifNoneMatch: known?.etag, ifModifiedSince: known?.lastModified });
      if (res.status === 200) {
        const parsed = parseFeedDocument(decodeText(res.body, child.url, { fallbackEncoding: res.charset ?? xmlEncoding(res.body) }), res.url);
        if (parsed.kind === 'sitemap') items.push(...parsed.items);
      }
      await store.saveEntry({ feedId: feed.id, key, link: child.url, itemHash: hash, etag: res.etag, lastModified: res.lastModified }, now);
    } catch {
      // One unreadable child sitemap does not stop the others; it is tried again next poll.
    }
  }
  return items;
}

/** What went wrong with the feed itself, and what to do about it. */
function feedProblem(error: unknown): string {
  if (error instanceof FeedFormatError) return error.message;
  if (error instanceof LoadError) return error.reason;
  throw error;
}

/** The encoding an XML document declares (`<?xml version="1.0" encoding="ISO-8859-1"?>`). */
function xmlEncoding(bytes: Buffer): string | undefined {
  return bytes.subarray(0, 200).toString('latin1').match(/^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']/i)?.[1];
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
