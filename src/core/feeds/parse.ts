/**
 * A downloaded feed or sitemap → the entries the poller reads. RSS 2.0, RSS 1.0 (RDF), Atom and
 * JSON Feed go through `feedsmith` (one maintained parser for all four, typed, on fast-xml-parser);
 * sitemaps (`<urlset>`) and sitemap indexes (`<sitemapindex>`) are not feeds, so they are read here
 * with fast-xml-parser directly.
 */
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { parseFeed } from 'feedsmith';

/** One article a feed announces. */
export interface FeedItem {
  /** guid / id when the feed has one, else the link: what makes an entry "known". */
  key: string;
  link?: string;
  title?: string;
  /** ISO 8601. */
  published?: string;
  updated?: string;
  author?: string;
  /** The feed's own text of the entry (HTML), for when the page cannot be fetched. */
  html?: string;
  /** Hash of what the feed says about the entry: when it is unchanged the page is not fetched again. */
  hash: string;
}

export type ParsedFeed =
  | { kind: 'feed'; format: 'rss' | 'atom' | 'rdf' | 'json'; title?: string; items: FeedItem[] }
  | { kind: 'sitemap'; items: FeedItem[] }
  | { kind: 'sitemapindex'; sitemaps: { url: string; lastmod?: string }[] };

export class FeedFormatError extends Error {}

/** Reads a feed or a sitemap; a FeedFormatError says in plain words what is wrong with it. */
export function parseFeedDocument(body: string, baseUrl: string): ParsedFeed {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (!text) throw new FeedFormatError('the feed is empty');
  if (/^<(\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<(urlset|sitemapindex)[\s>]/i.test(text)) return parseSitemap(text, baseUrl);

  let input: string | object = text;
  if (text.startsWith('{')) {
    try {
      input = JSON.parse(text) as object;
    } catch {
      throw new FeedFormatError('it looks like a JSON Feed but is not valid JSON');
    }
  }
  let parsed: ReturnType<typeof parseFeed>;
  try {
    parsed = parseFeed(input);
  } catch (error) {
    const message = (error as Error).message;
    if (/unrecognized/i.test(message)) {
      throw new FeedFormatError(
        /^<(!doctype html|html)/i.test(text)
          ? 'this is a web page, not a feed (look for its RSS or Atom link, or add the page itself with /kb add url:)'
          : 'it is not an RSS, Atom or JSON feed, nor a sitemap',
      );
    }
    throw new FeedFormatError(`the feed is malformed (${message})`);
  }
  const abs = (href: string | undefined) => absolute(href, baseUrl);
  switch (parsed.format) {
    case 'rss': {
      const feed = parsed.feed;
      const items = (feed.items ?? []).map((item) =>
        makeItem({
          key: item.guid?.value,
          link: abs(item.link),
          title: item.title,
          published: item.pubDate ?? item.dc?.dates?.[0],
          author: item.dc?.creators?.[0] ?? item.authors?.[0],
          html: item.content?.encoded ?? item.description,
        }),
      );
      return { kind: 'feed', format: 'rss', title: feed.title, items: compact(items) };
    }
    case 'atom': {
      const feed = parsed.feed;
      const items = (feed.entries ?? []).map((entry) => {
        const link = entry.links?.find((l) => !l.rel || l.rel === 'alternate')?.href ?? entry.links?.[0]?.href;
        return makeItem({
          key: entry.id,
          link: abs(link),
          title: textOf(entry.title),
          published: entry.published ?? entry.updated,
          updated: entry.updated,
          author: entry.authors?.[0]?.name,
          html: textOf(entry.content) ?? textOf(entry.summary),
        });
      });
      return { kind: 'feed', format: 'atom', title: textOf(feed.title), items: compact(items) };
    }
    case 'rdf': {
      const feed = parsed.feed;
      const items = (feed.items ?? []).map((item) =>
        makeItem({
          key: item.rdf?.about,
          link: abs(item.link),
          title: item.title,
          published: item.dc?.dates?.[0],
          author: item.dc?.creators?.[0],
          html: item.content?.encoded ?? item.description,
        }),
      );
      return { kind: 'feed', format: 'rdf', title: feed.title, items: compact(items) };
    }
    case 'json': {
      const feed = parsed.feed;
      const items = (feed.items ?? []).map((item) =>
        makeItem({
          key: item.id,
          link: abs(item.url ?? item.external_url),
          title: item.title,
          published: item.date_published,
          updated: item.date_modified,
          author: item.authors?.[0]?.name,
          html: item.content_html ?? (item.content_text ? escapeParagraphs(item.content_text) : undefined) ?? item.summary,
        }),
      );
      return { kind: 'feed', format: 'json', title: feed.title, items: compact(items) };
    }
  }
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'value' in value && typeof (value as { value: unknown }).value === 'string') return (value as { value: string }).value;
  return undefined;
}

function escapeParagraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => `<p>${p.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`)
    .join('\n');
}

interface ItemInput {
  key?: string;
  link?: string;
  title?: string;
  published?: unknown;
  updated?: unknown;
  author?: unknown;
  html?: string;
}

function makeItem(input: ItemInput): FeedItem | undefined {
  const key = (input.key ?? '').trim() || input.link;
  if (!key) return undefined;
  const published = isoDate(input.published);
  const updated = isoDate(input.updated);
  const author = typeof input.author === 'string' ? input.author.trim() || undefined : textOf((input.author as { name?: unknown })?.name);
  const title = input.title?.replace(/\s+/g, ' ').trim() || undefined;
  const hash = createHash('sha256')
    .update(JSON.stringify([key, input.link, title, published, updated, input.html ?? '']))
    .digest('hex')
    .slice(0, 16);
  return {
    key,
    hash,
    ...(input.link ? { link: input.link } : {}),
    ...(title ? { title } : {}),
    ...(published ? { published } : {}),
    ...(updated ? { updated } : {}),
    ...(author ? { author } : {}),
    ...(input.html ? { html: input.html } : {}),
  };
}

function compact(items: (FeedItem | undefined)[]): FeedItem[] {
  const seen = new Set<string>();
  return items.filter((item): item is FeedItem => {
    if (!item || seen.has(item.key)) return false;
    seen.add(item.key);
    return true;
  });
}

/** RFC 822 (RSS), RFC 3339 (Atom, JSON Feed) or a W3C date → ISO 8601; undefined when unreadable. */
export function isoDate(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const ms = Date.parse(value.trim());
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function absolute(href: string | undefined, base: string): string | undefined {
  if (!href?.trim()) return undefined;
  try {
    const url = new URL(href.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, isArray: (name) => name === 'url' || name === 'sitemap', processEntities: true });

function parseSitemap(text: string, baseUrl: string): ParsedFeed {
  let doc: { urlset?: { url?: { loc?: unknown; lastmod?: unknown }[] }; sitemapindex?: { sitemap?: { loc?: unknown; lastmod?: unknown }[] } };
  try {
    doc = xml.parse(text, true) as typeof doc;
  } catch (error) {
    throw new FeedFormatError(`the sitemap is malformed XML (${(error as Error).message.split('\n')[0]})`);
  }
  if (doc.sitemapindex) {
    const sitemaps = (doc.sitemapindex.sitemap ?? [])
      .map((s) => ({ url: absolute(String(s.loc ?? ''), baseUrl), lastmod: isoDate(s.lastmod) }))
      .filter((s): s is { url: string; lastmod: string | undefined } => Boolean(s.url))
      .map((s) => (s.lastmod ? { url: s.url, lastmod: s.lastmod } : { url: s.url }));
    return { kind: 'sitemapindex', sitemaps };
  }
  const items = (doc.urlset?.url ?? []).map((u) => {
    const link = absolute(String(u.loc ?? ''), baseUrl);
    const lastmod = isoDate(u.lastmod);
    // A sitemap says nothing about a page but its address and when it changed.
    return makeItem({ key: link, link, updated: lastmod ?? undefined });
  });
  return { kind: 'sitemap', items: compact(items) };
}
