import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FetchOptions } from '../../src/core/load/fetch-url.js';

/** One document the server serves; change `body` and the ETag / Last-Modified follow. */
export interface Route {
  body: string;
  contentType: string;
  status?: number;
  /** Send no validators at all (a server that does not support conditional requests). */
  noValidators?: boolean;
}

export interface Hit {
  path: string;
  status: number;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/**
 * A small publisher on 127.0.0.1 for feed tests: feeds, sitemaps and article pages at paths the
 * test sets, each with a strong ETag (hash of the body) and a Last-Modified that moves when the
 * body changes; conditional requests get a 304 when nothing changed. Every request is recorded.
 */
export class FeedServer {
  readonly routes = new Map<string, Route>();
  readonly hits: Hit[] = [];
  private readonly modified = new Map<string, { etag: string; at: Date }>();
  private clock = Date.parse('2026-11-30T08:00:00Z');

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FeedServer> {
    const server = http.createServer();
    const feeds = new FeedServer(server);
    server.on('request', (req, res) => feeds.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return feeds;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** The fetcher refuses loopback addresses and unusual ports; these options let it reach this server. */
  get fetchOptions(): FetchOptions {
    return { allowPrivateAddresses: true, allowedPorts: [Number(new URL(this.url('/')).port)] };
  }

  set(path: string, route: Route): void {
    this.routes.set(path, route);
  }

  /** Requests to `path` since index `from` of `hits`. */
  hitsOf(path: string, from = 0): Hit[] {
    return this.hits.slice(from).filter((h) => h.path === path);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const route = this.routes.get(path);
    const hit: Hit = {
      path,
      status: 0,
      ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
      ...(req.headers['if-modified-since'] ? { ifModifiedSince: String(req.headers['if-modified-since']) } : {}),
    };
    this.hits.push(hit);
    if (!route) {
      hit.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(route.body).digest('hex').slice(0, 16)}"`;
    let state = this.modified.get(path);
    if (!state || state.etag !== etag) {
      this.clock += 60_000;
      state = { etag, at: new Date(this.clock) };
      this.modified.set(path, state);
    }
    const headers: Record<string, string> = { 'content-type': route.contentType };
    if (!route.noValidators) {
      headers.etag = etag;
      headers['last-modified'] = state.at.toUTCString();
      if (hit.ifNoneMatch === etag) {
        hit.status = 304;
        res.writeHead(304, headers).end();
        return;
      }
    }
    hit.status = route.status ?? 200;
    res.writeHead(hit.status, headers).end(route.body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Paragraphs of articles the feed tests publish. */
export const LIGHTHOUSE = [
  'The old lighthouse on Gull Point was relit on Friday after forty years of darkness, the harbour trust said.',
  'Volunteers spent three winters replacing the lantern glass and rebuilding the spiral staircase by hand.',
  'The beam can now be seen from the ferry to Ardmore, twelve nautical miles away across the bay.',
];
export const ORCHARD = [
  'The community orchard in Millbrook planted its five hundredth apple tree, a rare russet variety called Pitmaston.',
  'Schoolchildren labelled every tree with the name of the family that adopted it, and the trust keeps the records.',
];

/** An article page with a canonical link, a publication date and paragraphs. */
export function articlePage(input: { title: string; paragraphs: string[]; canonical?: string; published?: string; author?: string }): string {
  return `<!doctype html><html><head><title>${input.title} | Daily Example</title>
${input.canonical ? `<link rel="canonical" href="${input.canonical}">` : ''}
${input.published ? `<meta property="article:published_time" content="${input.published}">` : ''}
${input.author ? `<meta name="author" content="${input.author}">` : ''}
</head><body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<article><h1>${input.title}</h1>
${input.paragraphs.map((p) => `<p>${p}</p>`).join('\n')}
</article><footer>© Daily Example</footer></body></html>`;
}

export interface RssItem {
  title: string;
  link: string;
  guid?: string;
  pubDate?: string;
  author?: string;
  description?: string;
}

export function rss(title: string, items: RssItem[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>${esc(title)}</title><link>http://example.com/</link><description>news</description>
${items
  .map(
    (i) => `<item><title>${esc(i.title)}</title><link>${esc(i.link)}</link>${i.guid ? `<guid isPermaLink="false">${esc(i.guid)}</guid>` : ''}${i.pubDate ? `<pubDate>${i.pubDate}</pubDate>` : ''}${i.author ? `<dc:creator>${esc(i.author)}</dc:creator>` : ''}${i.description ? `<description>${esc(i.description)}</description>` : ''}</item>`,
  )
  .join('\n')}
</channel></rss>`;
}
