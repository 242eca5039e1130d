/**
 * URL → RawArticle for `/kb add url:...`: downloads one web page (or a .txt / .md / .pdf URL)
 * and returns its main text.
 *
 * This is the one place where the bot connects to an address a user chose, so it is built as
 * SSRF protection first: only http(s), no credentials in URLs, every address a host resolves to
 * must be public unicast (see `checkAddress`), redirects are followed by hand and re-checked hop
 * by hop, and the whole download is bounded in time and size.
 *
 * DNS rebinding: a host is resolved exactly once per hop (all of its addresses), the addresses are
 * checked, and the connection is then made to those checked addresses only. `fetch` (undici)
 * would resolve the name again on its own, and pinning the address there needs an undici `Agent`
 * — the `undici` package is not a dependency — so this module uses `node:http` / `node:https`
 * `request` with a custom `lookup` that ignores the name and answers with the pre-checked
 * addresses. The URL's host name still goes into the Host header and, for https, into SNI and
 * the certificate check, so TLS verifies the real name while the socket goes to the checked IP.
 * Each request uses its own connection (`agent: false`), so no pooled socket to another address
 * is ever reused. Node's http client does not honour HTTP(S)_PROXY, so no proxy resolves the
 * name behind our back either.
 */
import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import ipaddr from 'ipaddr.js';
import type { RawArticle } from '../types.js';
import { LoadError } from './decode.js';
import { loadBuffer } from './index.js';
import type { ParseLimits } from './parse.js';

/** One resolved address, as `dns.promises.lookup(host, { all: true })` returns it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all of its addresses. */
export type LookupFunction = (hostname: string, options: { all: true }) => Promise<ResolvedAddress[]>;

export interface FetchOptions {
  /** Time limit for the whole download: DNS, connecting, every redirect and the body. Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Largest body accepted, in bytes (after decompression; the compressed transfer is bounded by it too).
   * A Content-Length above it fails before reading; otherwise reading stops as soon as it is exceeded.
   * Default 5 MB (5 × 1024 × 1024).
   */
  maxBytes?: number;
  /** Redirects followed at most; one more fails with "too many redirects". Default 3. */
  maxRedirects?: number;
  /** User-Agent header. Default `article-qa-bot/0.1 (knowledge base fetcher)`. */
  userAgent?: string;
  /**
   * FOR TESTS ONLY. `true` skips the address check for every host (e.g. a test server on
   * 127.0.0.1); a list of host names (lower case, as in the URL) skips it for those hosts only, so
   * a test can let a first hop through and still see a redirect to a private address refused.
   * Default `false`: every address must be public unicast.
   */
  allowPrivateAddresses?: boolean | readonly string[];
  /**
   * FOR TESTS ONLY. Resolves host names. Default `dns.promises.lookup` (called with `{ all: true }`).
   * Literal IP hosts are never looked up.
   */
  lookup?: LookupFunction;
  /** Limits on reading the page once downloaded (time, pages, text size; see ParseLimits). */
  parse?: Partial<ParseLimits>;
  /** Ports allowed besides 80 and 443 (the URL's and every redirect's). Default none. */
  allowedPorts?: readonly number[];
  /**
   * Conditional request (feeds re-check pages they already have): the ETag and/or Last-Modified
   * the server sent last time. Only `fetchConditional` / `fetchResource` honour them; there a 304
   * comes back as `{ status: 304 }` instead of an error.
   */
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/** Validators a server sent with a response, to send back next time. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** A downloaded body of any content type (a feed, a sitemap), or "not modified". */
export type FetchedResource =
  | ({ status: 304; url: string } & Validators)
  | ({ status: 200; url: string; contentType: string; charset?: string; body: Buffer } & Validators);

/** An article fetched with a conditional request, or "not modified". */
export type ConditionalArticle = ({ status: 304 } & Validators) | ({ status: 200; article: RawArticle } & Validators);

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_USER_AGENT = 'article-qa-bot/0.1 (knowledge base fetcher)';

/** Media type → how it is read (every type through loadBuffer, on the parse worker). */
const CONTENT_TYPES: Record<string, '.html' | '.txt' | '.md' | '.pdf'> = {
  'text/html': '.html',
  'application/xhtml+xml': '.html',
  'text/plain': '.txt',
  'text/markdown': '.md',
  'text/x-markdown': '.md',
  'application/pdf': '.pdf',
};

const ACCEPT = 'text/html,application/xhtml+xml;q=0.9,text/markdown;q=0.8,text/plain;q=0.8,application/pdf;q=0.7';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** What an address range means to a moderator. Anything not listed (but not unicast) is "reserved". */
const RANGE_REASONS: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT (shared) address',
  private: 'a private address',
  uniqueLocal: 'a private (unique-local) address',
  deprecatedSiteLocal: 'a private (site-local) address',
  rfc6052: 'a NAT64 address',
  rfc6145: 'an IPv4-translated address',
  '6to4': 'a 6to4 tunnel address',
  teredo: 'a Teredo tunnel address',
};

/** Well-known cloud metadata endpoints, named as such in the reason. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

/**
 * Why the bot must not connect to `ip`, or `null` when it may (public unicast).
 * Accepts IPv4 and IPv6 text (IPv4-mapped IPv6 is judged as the IPv4 address it carries);
 * anything that is not an IP address is refused.
 */
export function checkAddress(ip: string): string | null {
  const text = ip.trim().replace(/^\[(.*)\]$/, '$1');
  if (!net.isIP(text.replace(/%.*$/, ''))) return 'not a valid IP address';
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let mapped = '';
  try {
    // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it carries.
    addr = ipaddr.process(text);
    if (addr.kind() === 'ipv4' && net.isIPv6(text.replace(/%.*$/, ''))) mapped = ' (IPv4-mapped)';
  } catch {
    return 'not a valid IP address';
  }
  if (METADATA_ADDRESSES.has(addr.toString())) return `a cloud metadata address${mapped}`;

  const range = addr.range();
  if (range !== 'unicast') return `${RANGE_REASONS[range] ?? 'a reserved address'}${mapped}`;
  // ipaddr.js calls everything it has no name for "unicast"; only 2000::/3 is globally routed
  // IPv6 (this also catches the deprecated IPv4-compatible form written in hex, ::7f00:1; ipaddr.js
  // already reads the dotted ::127.0.0.1 as IPv4-mapped).
  if (addr.kind() === 'ipv6' && !(addr as ipaddr.IPv6).match(ipaddr.IPv6.parse('2000::'), 3)) {
    return 'a reserved address';
  }
  return null;
}

/**
 * Downloads `url` and returns its main text as an article: HTML through Readability
 * (`htmlToArticle`), text / Markdown / PDF alike, through `loadBuffer` (parse worker, parse limits). `url` on the article is the final
 * URL after redirects (or the page's canonical URL); `origin` is the URL as asked for.
 * Every failure is a LoadError whose `file` is `url` and whose `reason` a moderator can act on.
 */
export async function fetchArticle(url: string, options: FetchOptions = {}): Promise<RawArticle> {
  const { ifNoneMatch: _etag, ifModifiedSince: _since, ...unconditional } = options;
  const download = await downloadUrl(url, unconditional, 'article');
  if (download.notModified) throw new LoadError(url, 'the server answered 304 Not Modified to a request that was not conditional');
  return articleFrom(url, download, options.parse);
}

/**
 * `fetchArticle` with `If-None-Match` / `If-Modified-Since` from `options`: an unchanged page is
 * `{ status: 304 }` (nothing downloaded); otherwise the article and the page's new validators.
 */
export async function fetchConditional(url: string, options: FetchOptions = {}): Promise<ConditionalArticle> {
  const download = await downloadUrl(url, options, 'article');
  const validators = { ...(download.etag ? { etag: download.etag } : {}), ...(download.lastModified ? { lastModified: download.lastModified } : {}) };
  if (download.notModified) return { status: 304, ...validators };
  return { status: 200, article: await articleFrom(url, download, options.parse), ...validators };
}

/**
 * Downloads `url` as bytes whatever its content type (a feed, a sitemap), with the same address,
 * redirect, time and size rules as `fetchArticle`, and honouring the conditional-request options.
 */
export async function fetchResource(url: string, options: FetchOptions & { accept?: string } = {}): Promise<FetchedResource> {
  const download = await downloadUrl(url, options, 'raw', options.accept);
  const validators = { ...(download.etag ? { etag: download.etag } : {}), ...(download.lastModified ? { lastModified: download.lastModified } : {}) };
  if (download.notModified) return { status: 304, url: download.url.href, ...validators };
  return { status: 200, url: download.url.href, contentType: download.contentType ?? '', charset: download.charset, body: download.body, ...validators };
}

async function downloadUrl(url: string, options: FetchOptions, mode: 'article' | 'raw', accept?: string): Promise<Download> {
  const settings: Settings = {
    timeoutMs: positive(options.timeoutMs, DEFAULT_TIMEOUT_MS),
    maxBytes: positive(options.maxBytes, DEFAULT_MAX_BYTES),
    maxRedirects: Math.max(0, Math.floor(options.maxRedirects ?? DEFAULT_MAX_REDIRECTS)),
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    allowPrivate: options.allowPrivateAddresses ?? false,
    lookup: options.lookup ?? ((host, opts) => dns.lookup(host, { ...opts, verbatim: true })),
    allowedPorts: options.allowedPorts ?? [],
    conditional: { ifNoneMatch: options.ifNoneMatch, ifModifiedSince: options.ifModifiedSince },
    raw: mode === 'raw',
    accept: accept ?? ACCEPT,
  };

  const controller = new AbortController();
  const timeout = new LoadError(url, `timed out after ${formatDuration(settings.timeoutMs)}`);
  const timer = setTimeout(() => controller.abort(timeout), settings.timeoutMs);
  let download: Download;
  try {
    download = await downloadChain(url, settings, controller.signal);
  } catch (err) {
    // Nothing but the timer aborts, so any failure after it fired is the time-out's doing.
    if (controller.signal.aborted) throw timeout;
    throw asLoadError(url, err);
  } finally {
    clearTimeout(timer);
  }
  return download;
}

async function articleFrom(url: string, download: Download, parse?: Partial<ParseLimits>): Promise<RawArticle> {
  const origin = safeHref(url);
  try {
    const name = fileNameFor(download.url, download.ext);
    // Read on the parse worker, within the parse limits (the download's timer is over by now).
    return { ...(await loadBuffer(name, download.body, { url: download.url.href, charset: download.charset, limits: parse })), origin };
  } catch (err) {
    throw asLoadError(url, err);
  }
}

interface Settings {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  userAgent: string;
  allowPrivate: boolean | readonly string[];
  lookup: LookupFunction;
  allowedPorts: readonly number[];
  conditional: { ifNoneMatch?: string; ifModifiedSince?: string };
  /** Any content type is accepted and the body returned as is (feeds, sitemaps). */
  raw: boolean;
  accept: string;
}

interface Download {
  /** Final URL, after redirects. */
  url: URL;
  ext: '.html' | '.txt' | '.md' | '.pdf';
  charset?: string;
  body: Buffer;
  /** The server answered 304 to a conditional request: `body` is empty. */
  notModified?: boolean;
  /** Media type as sent (raw downloads). */
  contentType?: string;
  etag?: string;
  lastModified?: string;
}

/** Follows redirects by hand, validating every hop, and downloads the final body. */
async function downloadChain(input: string, s: Settings, signal: AbortSignal): Promise<Download> {
  let current = parseUrl(input.trim());
  for (let redirects = 0; ; redirects++) {
    const addresses = await resolveChecked(current, s, signal);
    checkPort(current, s, redirects === 0 ? 'the URL' : 'redirected to a URL that');
    const res = await openRequest(current, addresses, s, signal);
    const status = res.statusCode ?? 0;

    if (REDIRECT_STATUSES.has(status)) {
      const location = res.headers.location;
      res.destroy();
      if (!location) throw new Error(`the server answered ${status} (a redirect) without saying where to`);
      if (redirects >= s.maxRedirects) throw new Error(`too many redirects (max ${s.maxRedirects})`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new Error(`redirected to an invalid URL (${truncate(location)})`);
      }
      current = validateUrl(next, `redirected to`);
      continue;
    }

    const etag = headerValue(res.headers.etag);
    const lastModified = headerValue(res.headers['last-modified']);
    if (status === 304 && (s.conditional.ifNoneMatch || s.conditional.ifModifiedSince)) {
      res.destroy();
      return { url: current, ext: '.html', body: Buffer.alloc(0), notModified: true, etag: etag ?? s.conditional.ifNoneMatch, lastModified: lastModified ?? s.conditional.ifModifiedSince };
    }

    if (status < 200 || status > 299) {
      res.destroy();
      const text = res.statusMessage ? ` ${res.statusMessage}` : '';
      throw new Error(`the server answered ${status}${text}${status === 404 ? ' (page not found)' : ''}`);
    }

    if (s.raw) {
      const [type, ...params] = String(res.headers['content-type'] ?? '').split(';');
      const charset = params.map((p) => p.trim().match(/^charset\s*=\s*"?([^";\s]+)"?$/i)?.[1]).find((c): c is string => Boolean(c));
      const body = await readBody(res, s.maxBytes, signal);
      return { url: current, ext: '.txt', charset, body, contentType: type.trim().toLowerCase(), etag, lastModified };
    }
    const { ext, charset } = contentKind(res, current);
    const body = await readBody(res, s.maxBytes, signal);
    return { url: current, ext, charset, body, etag, lastModified };
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('not a valid URL (expected something like https://example.com/article)');
  }
  return validateUrl(url, 'the URL');
}

/** Scheme and credentials rules, for the first URL and for every redirect target. */
function validateUrl(url: URL, what: string): URL {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`refused: ${what} uses ${url.protocol.replace(/:$/, '')}:, only http and https links can be added`);
  }
  if (url.username || url.password) {
    throw new Error(`refused: ${what} contains a user name or password; remove the "user:password@" part`);
  }
  if (!url.hostname) throw new Error(`refused: ${what} has no host`);
  return url;
}

/** Only the web's ports (80, 443) and those of the allow-list: a link must not reach other services on a host. */
function checkPort(url: URL, s: Settings, what: string): void {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (port === 80 || port === 443 || s.allowedPorts.includes(port)) return;
  throw new Error(`refused: ${what} uses port ${port}; only ports 80 and 443 can be fetched`);
}

/** Host name without IPv6 brackets (what net.connect and DNS expect). */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Resolves the URL's host once and checks every address it resolves to. */
async function resolveChecked(url: URL, s: Settings, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const host = bareHost(url);
  const allowed = s.allowPrivate === true || (Array.isArray(s.allowPrivate) && s.allowPrivate.includes(host));
  const family = net.isIP(host);
  if (family) {
    // WHATWG URL parsing already turned 2130706433, 0x7f.1, 017700000001 and 127.1 into 127.0.0.1.
    const reason = allowed ? null : checkAddress(host);
    if (reason) throw new Error(`refused: ${host} is ${reason}`);
    return [{ address: host, family }];
  }

  let found: ResolvedAddress[];
  try {
    found = await abortable(s.lookup(host, { all: true }), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    const hint = code === 'ENOTFOUND' ? ' (no such host — check the spelling)' : code ? ` (${code})` : '';
    throw new Error(`could not find the host ${host}${hint}`);
  }
  const addresses = found
    .map((a) => ({ address: a.address, family: net.isIP(a.address) }))
    .filter((a) => a.family !== 0);
  if (addresses.length === 0) throw new Error(`could not find the host ${host} (no addresses)`);
  if (!allowed) {
    for (const { address } of addresses) {
      const reason = checkAddress(address);
      if (reason) throw new Error(`refused: ${host} resolves to ${address}, ${reason}`);
    }
  }
  return addresses;
}

/**
 * A `lookup` for net.connect that never asks DNS: it answers with the addresses already checked.
 * Node calls it with `{ all: true }` when happy-eyeballs (autoSelectFamily) is on, and expects a
 * single address otherwise.
 */
function pinnedLookup(addresses: ResolvedAddress[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (usable.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`no IPv${wanted} address`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, usable[0].address, usable[0].family);
  };
}

function openRequest(url: URL, addresses: ResolvedAddress[], s: Settings, signal: AbortSignal): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: bareHost(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: {
          'User-Agent': s.userAgent,
          Accept: s.accept,
          'Accept-Encoding': 'gzip, deflate, br',
          ...(s.conditional.ifNoneMatch ? { 'If-None-Match': s.conditional.ifNoneMatch } : {}),
          ...(s.conditional.ifModifiedSince ? { 'If-Modified-Since': s.conditional.ifModifiedSince } : {}),
        },
        // A fresh connection per request: no pooled socket (to some other address) is reused.
        agent: false,
        lookup: pinnedLookup(addresses),
        signal,
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

/** Checks the Content-Type and decides how the body will be read. */
function contentKind(res: http.IncomingMessage, url: URL): { ext: Download['ext']; charset?: string } {
  const header = res.headers['content-type'];
  const [typePart, ...params] = (header ?? '').split(';');
  const type = typePart.trim().toLowerCase();
  const charset = params
    .map((p) => p.trim().match(/^charset\s*=\s*"?([^";\s]+)"?$/i)?.[1])
    .find((c): c is string => Boolean(c));
  const pathExt = extensionOf(url.pathname);

  if (!type) {
    // No Content-Type at all: trust the URL's extension when it is one we read.
    const byExt = ({ '.html': '.html', '.htm': '.html', '.txt': '.txt', '.md': '.md', '.markdown': '.md', '.pdf': '.pdf' } as const)[
      pathExt as '.html'
    ];
    if (byExt) return { ext: byExt, charset };
    res.destroy();
    throw new Error('the server did not say what kind of file this is (no Content-Type); expected a web page, text, Markdown or PDF');
  }
  let ext = CONTENT_TYPES[type];
  if (!ext) {
    res.destroy();
    throw new Error(`unsupported content type ${truncate(type, 60)} (expected a web page, text, Markdown or PDF)`);
  }
  // Raw Markdown is usually served as text/plain (e.g. raw.githubusercontent.com).
  if (ext === '.txt' && (pathExt === '.md' || pathExt === '.markdown')) ext = '.md';
  return { ext, charset };
}

/** Reads the body (decompressing it if needed), stopping as soon as it exceeds `maxBytes`. */
async function readBody(res: http.IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () => new Error(`page is larger than ${formatBytes(maxBytes)}`);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw tooLarge();
  }

  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let stream: Readable = res;
  if (encoding && encoding !== 'identity') {
    const decoder =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? zlib.createGunzip()
        : encoding === 'deflate'
          ? zlib.createInflate()
          : encoding === 'br'
            ? zlib.createBrotliDecompress()
            : null;
    if (!decoder) {
      res.destroy();
      throw new Error(`unsupported content encoding ${truncate(encoding, 40)}`);
    }
    // Errors on either side destroy both; the loop below sees them.
    stream = pipeline(res, decoder, () => {});
  }
  addAbortSignal(signal, stream);

  let wire = 0;
  if (stream !== res) {
    res.on('data', (chunk: Buffer) => {
      wire += chunk.length;
      if (wire > maxBytes) stream.destroy(tooLarge());
    });
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof Error && /^page is larger/.test(err.message)) throw err;
    if (signal.aborted) throw signal.reason;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code?.startsWith('Z_') || code?.startsWith('ERR__') || code?.startsWith('ERR_BROTLI')) {
      throw new Error(`the page is compressed (${encoding}) but could not be decompressed`);
    }
    throw new Error(`the connection broke while downloading (${describe(err)})`);
  } finally {
    res.destroy();
  }
  if (signal.aborted) throw signal.reason;
  if (!res.complete) throw new Error('the connection closed before the whole page arrived');
  return Buffer.concat(chunks, total);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text && text.length <= 512 ? text : undefined;
}

/** Rejects with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function asLoadError(url: string, err: unknown): LoadError {
  if (err instanceof LoadError) return err.file === url ? err : new LoadError(url, err.reason);
  return new LoadError(url, describe(err));
}

/** A moderator-readable reason for a failure of the network or of our own checks. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'could not connect: the server refused the connection';
    case 'ECONNRESET':
      return 'the server closed the connection unexpectedly';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'could not connect: the server is unreachable';
    case 'ETIMEDOUT':
      return 'could not connect: the connection timed out';
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_HEADER_OVERFLOW':
      return 'the server sent an invalid HTTP response';
    default:
      break;
  }
  // CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_VERIFY_LEAF_SIGNATURE…
  if (code && /CERT|UNABLE_TO_(GET|VERIFY|DECRYPT)/.test(code)) return `the site's HTTPS certificate is not valid (${code})`;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Name handed to the loaders: the URL's last path segment (or host) with the extension for `ext`. */
function fileNameFor(url: URL, ext: Download['ext']): string {
  let segment = url.pathname.split('/').filter(Boolean).pop() ?? '';
  try {
    segment = decodeURIComponent(segment);
  } catch {
    // keep it encoded
  }
  segment = segment.replace(/[\\/\u0000-\u001f]/g, ' ').trim();
  const known = ['.html', '.htm', '.txt', '.md', '.markdown', '.pdf'];
  const segExt = extensionOf(segment);
  const stem = segment ? (known.includes(segExt) ? segment.slice(0, -segExt.length) : segment) : bareHost(url);
  return `${stem || bareHost(url)}${ext}`;
}

function extensionOf(pathOrName: string): string {
  const base = pathOrName.split('/').pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The charset a page declares in its first 2 KB (`<meta charset>` or http-equiv), if any. */
function safeHref(url: string): string {
  try {
    return new URL(url.trim()).href;
  } catch {
    return url;
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function truncate(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** 10000 → "10 s", 1500 → "1.5 s", 300 → "300 ms". */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms)} ms`;
}

/** 5242880 → "5 MB", 1536 → "1.5 KB", 100 → "100 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} bytes`;
}
