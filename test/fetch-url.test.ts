/**
 * fetchArticle against a local server on 127.0.0.1 (never any other address): successful
 * downloads use `allowPrivateAddresses` (all hosts, or a named fake public host that a `lookup`
 * override maps to 127.0.0.1); every refusal runs with the default address checks.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoadError } from '../src/core/load/decode.js';
import { checkAddress, fetchArticle, type FetchOptions, type ResolvedAddress } from '../src/core/load/fetch-url.js';

const ARTICLE_HTML = `<!DOCTYPE html>
<html><head><title>Harbour Reopens After Storm</title></head>
<body>
  <nav><a href="/">Home</a> <a href="/news">News</a></nav>
  <article>
    <h1>Harbour Reopens After Storm</h1>
    <p>The harbour reopened on Monday after a week of repairs to the sea wall, the port authority said.</p>
    <p>Fishing boats returned to the quay by noon, and the ferry to the islands will resume its timetable on Wednesday.</p>
    <p>Engineers said the new wall was built to withstand waves twice as high as those of last winter's storm.</p>
  </article>
  <footer>Copyright Example News</footer>
</body></html>`;

const requests: { url: string; host: string }[] = [];
let server: http.Server;
let port = 0;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', host: req.headers.host ?? '' });
    const url = new URL(req.url ?? '/', 'http://local');
    switch (url.pathname) {
      case '/article':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(ARTICLE_HTML);
        return;
      case '/gzipped':
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
        res.end(zlib.gzipSync(ARTICLE_HTML));
        return;
      case '/notes.txt':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Tide Tables for March\n\nHigh tide is at 06:12 and 18:40 on the first of the month.\n\nLow tide follows six hours later.\n');
        return;
      case '/readme.md':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('# Ferry Timetable\n\nThe **first** ferry leaves at 07:00.\n');
        return;
      case '/hop':
        res.writeHead(302, { Location: '/article' });
        res.end();
        return;
      case '/to-loopback':
        res.writeHead(302, { Location: `http://127.0.0.1:${port}/secret` });
        res.end();
        return;
      case '/to-internal':
        res.writeHead(301, { Location: 'http://internal.example/admin' });
        res.end();
        return;
      case '/to-file':
        res.writeHead(302, { Location: 'file:///etc/passwd' });
        res.end();
        return;
      case '/loop': {
        const n = Number(url.searchParams.get('n') ?? '0');
        res.writeHead(302, { Location: `/loop?n=${n + 1}` });
        res.end();
        return;
      }
      case '/hang':
        // Headers and a first chunk, then nothing: only the time-out ends this.
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.write('<html><body><p>Loading');
        return;
      case '/silent':
        return; // never answers at all
      case '/big': {
        // No Content-Length: streams until the client gives up.
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        const chunk = 'x'.repeat(1024) + '\n';
        let sent = 0;
        const pump = () => {
          while (sent < 200 && res.write(chunk)) sent++;
          if (sent < 200 && !res.destroyed) res.once('drain', pump);
          else res.end();
        };
        pump();
        return;
      }
      case '/big-declared':
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(10 * 1024 * 1024) });
        res.write('only the start');
        return; // never sends the rest: the declared size alone must fail it
      case '/image.png':
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/html' });
        res.end('<p>not here</p>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  ports.push(port);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  requests.length = 0;
  vi.restoreAllMocks();
});

/** Only the local server: every name maps to 127.0.0.1 unless `table` says otherwise. */
function fakeDns(table: Record<string, string[]> = {}) {
  const calls: string[] = [];
  const lookup = async (host: string): Promise<ResolvedAddress[]> => {
    calls.push(host);
    const addresses = table[host] ?? ['127.0.0.1'];
    if (addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

/** Local server allowed (tests only), on its port (filled in once it listens). */
const ports: number[] = [];
const LOCAL: FetchOptions = { allowPrivateAddresses: true, allowedPorts: ports };

async function loadError(promise: Promise<unknown>): Promise<LoadError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LoadError);
    return err as LoadError;
  }
  throw new Error('expected a LoadError');
}

describe('checkAddress', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.0.0.5', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['169.254.1.1', /link-local/],
    ['169.254.169.254', /metadata/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['0.0.0.0', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.10', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fc00::1', /unique-local/],
    ['fd12:3456::1', /unique-local/],
    ['fd00:ec2::254', /metadata/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /^a loopback address \(IPv4-mapped\)$/],
    ['::ffff:7f00:1', /^a loopback address \(IPv4-mapped\)$/],
    ['::ffff:10.0.0.5', /^a private address \(IPv4-mapped\)$/],
    ['::ffff:169.254.169.254', /^a cloud metadata address \(IPv4-mapped\)$/],
    ['::127.0.0.1', /loopback/], // deprecated IPv4-compatible form (ipaddr.js reads it as mapped)
    ['::7f00:1', /reserved/], // the same, in hex: outside 2000::/3
    ['64:ff9b::7f00:1', /NAT64/],
    ['64:ff9b:1::a00:5', /NAT64/],
    ['2002:7f00:1::1', /6to4/],
    ['2001:0:4136:e378::1', /Teredo/],
    ['2001:db8::1', /reserved/],
    ['100::1', /reserved/],
    ['example.com', /not a valid IP/],
    ['2130706433', /not a valid IP/],
    ['', /not a valid IP/],
  ];
  it.each(refused)('refuses %s', (ip, reason) => {
    expect(checkAddress(ip)).toMatch(reason);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2a00:1450:4001:80b::200e', '[2606:4700::1111]'])(
    'allows public unicast %s',
    (ip) => {
      expect(checkAddress(ip)).toBeNull();
    },
  );
});

describe('fetchArticle: successful downloads', () => {
  it('extracts title and main text from an HTML page and records the URL', async () => {
    const article = await fetchArticle(`${base}/article`, LOCAL);
    expect(article.title).toBe('Harbour Reopens After Storm');
    expect(article.body).toContain('The harbour reopened on Monday');
    expect(article.body).toContain('withstand waves twice as high');
    expect(article.body).not.toMatch(/Copyright|Home/);
    expect(article.url).toBe(`${base}/article`);
    expect(article.origin).toBe(`${base}/article`);
    expect(requests[0].url).toBe('/article');
  });

  it('connects to the address it checked: a named host is resolved once and pinned', async () => {
    const dns = fakeDns({ 'news.example.com': ['127.0.0.1'] });
    const url = `http://news.example.com:${port}/article`;
    const article = await fetchArticle(url, { allowPrivateAddresses: ['news.example.com'], lookup: dns.lookup, allowedPorts: ports });
    expect(article.title).toBe('Harbour Reopens After Storm');
    expect(article.url).toBe(url);
    expect(dns.calls).toEqual(['news.example.com']);
    // The server saw the real host name (Host header), although the socket went to 127.0.0.1.
    expect(requests).toEqual([{ url: '/article', host: `news.example.com:${port}` }]);
  });

  it('https: SNI and the certificate check use the host name while the socket goes to the pinned address', async () => {
    // Self-signed certificate for news.example.com (P-256, valid until 2126): untrusted on purpose.
    const key = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgygjsXd6HBvtkwm58
++ioaHQuZxyIFCaceY3HpXpD8uuhRANCAATkjfRc7WfMy9UeTRTJphKA9Qj1NYoD
ZnG+rAPLdAWaqUfVtwLCONZ2LQsOg9AAEBoASHuSU1/lqaT/7Ggom8Sy
-----END PRIVATE KEY-----`;
    const cert = `-----BEGIN CERTIFICATE-----
MIIBqjCCAVCgAwIBAgIUYrmtTiboawOwzDh1nfU33EmWaEIwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbmV3cy5leGFtcGxlLmNvbTAgFw0yNjExMjUxNjQ1MzJaGA8y
MTI2MTEwMTE2NDUzMlowGzEZMBcGA1UEAwwQbmV3cy5leGFtcGxlLmNvbTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABOSN9FztZ8zL1R5NFMmmEoD1CPU1igNmcb6s
A8t0BZqpR9W3AsI41nYtCw6D0AAQGgBIe5JTX+WppP/saCibxLKjcDBuMB0GA1Ud
DgQWBBSQZbqm0aNMeS3RY53WNzCZRFis/DAfBgNVHSMEGDAWgBSQZbqm0aNMeS3R
Y53WNzCZRFis/DAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQUMBKCEG5ld3MuZXhh
bXBsZS5jb20wCgYIKoZIzj0EAwIDSAAwRQIhANmSk8S99DMZ1jIoFz5snMBWYTY3
amGcW/QJJPS8CJV3AiBqvUq9Ay5Z4EMbZ5B7ahanFUFcEbeX5+gF1pW+rdzFUg==
-----END CERTIFICATE-----`;
    const serverNames: string[] = [];
    const secure = https.createServer({
      key,
      cert,
      SNICallback: (name, cb) => {
        serverNames.push(name);
        cb(null, tls.createSecureContext({ key, cert }));
      },
    });
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    try {
      const securePort = (secure.address() as AddressInfo).port;
      const dns = fakeDns({ 'news.example.com': ['127.0.0.1'] });
      const opts: FetchOptions = { allowPrivateAddresses: ['news.example.com'], lookup: dns.lookup, allowedPorts: [securePort] };
      const err = await loadError(fetchArticle(`https://news.example.com:${securePort}/article`, opts));
      expect(err.reason).toMatch(/^the site's HTTPS certificate is not valid \(/);
      expect(serverNames).toEqual(['news.example.com']);
    } finally {
      secure.closeAllConnections();
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  });

  it('follows a redirect and reports the final URL', async () => {
    const article = await fetchArticle(`${base}/hop`, LOCAL);
    expect(article.title).toBe('Harbour Reopens After Storm');
    expect(article.url).toBe(`${base}/article`);
    expect(article.origin).toBe(`${base}/hop`);
    expect(requests.map((r) => r.url)).toEqual(['/hop', '/article']);
  });

  it('decompresses a gzip-encoded page', async () => {
    const article = await fetchArticle(`${base}/gzipped`, LOCAL);
    expect(article.body).toContain('Fishing boats returned to the quay');
  });

  it('reads a plain text URL (first line is the title)', async () => {
    const article = await fetchArticle(`${base}/notes.txt`, LOCAL);
    expect(article.title).toBe('Tide Tables for March');
    expect(article.body).toBe('High tide is at 06:12 and 18:40 on the first of the month.\n\nLow tide follows six hours later.');
    expect(article.url).toBe(`${base}/notes.txt`);
  });

  it('reads a .md URL served as text/plain as Markdown', async () => {
    const article = await fetchArticle(`${base}/readme.md`, LOCAL);
    expect(article.title).toBe('Ferry Timetable');
    expect(article.body).toBe('The first ferry leaves at 07:00.');
  });
});

describe('fetchArticle: SSRF refusals', () => {
  it.each([
    ['http://127.0.0.1:PORT/article', /^refused: 127\.0\.0\.1 is a loopback address$/],
    ['http://2130706433:PORT/article', /127\.0\.0\.1 is a loopback/],
    ['http://0x7f.1:PORT/article', /127\.0\.0\.1 is a loopback/],
    ['http://017700000001:PORT/article', /127\.0\.0\.1 is a loopback/],
    ['http://[::1]:PORT/article', /::1 is a loopback/],
    ['http://[::ffff:127.0.0.1]:PORT/article', /loopback address \(IPv4-mapped\)/],
    ['http://0.0.0.0:PORT/article', /unspecified/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
    ['http://10.1.2.3/', /private/],
  ])('refuses %s with the default options, without connecting', async (template, reason) => {
    const url = template.replace('PORT', String(port));
    const request = vi.spyOn(http, 'request');
    const err = await loadError(fetchArticle(url));
    expect(err.file).toBe(url);
    expect(err.reason).toMatch(reason);
    expect(request).not.toHaveBeenCalled();
    expect(requests).toEqual([]);
  });

  it('refuses a host name that resolves to a private address, before connecting', async () => {
    const dns = fakeDns({ 'example.internal': ['10.0.0.5'] });
    const request = vi.spyOn(http, 'request');
    const err = await loadError(fetchArticle('http://example.internal/wiki', { lookup: dns.lookup }));
    expect(err.reason).toBe('refused: example.internal resolves to 10.0.0.5, a private address');
    expect(dns.calls).toEqual(['example.internal']);
    expect(request).not.toHaveBeenCalled();
  });

  it('refuses a host when ANY of its addresses is private', async () => {
    const dns = fakeDns({ 'mixed.example.com': ['93.184.216.34', '2606:4700::1111', '::ffff:192.168.0.1'] });
    const request = vi.spyOn(http, 'request');
    const err = await loadError(fetchArticle('https://mixed.example.com/', { lookup: dns.lookup }));
    expect(err.reason).toBe('refused: mixed.example.com resolves to ::ffff:192.168.0.1, a private address (IPv4-mapped)');
    expect(request).not.toHaveBeenCalled();
  });

  it('refuses localhost (resolved, not special-cased by name)', async () => {
    const dns = fakeDns({ localhost: ['127.0.0.1', '::1'] });
    const err = await loadError(fetchArticle(`http://localhost:${port}/article`, { lookup: dns.lookup }));
    expect(err.reason).toBe('refused: localhost resolves to 127.0.0.1, a loopback address');
    expect(requests).toEqual([]);
  });

  it('refuses a redirect to a loopback address (the first hop was allowed)', async () => {
    const dns = fakeDns({ 'news.example.com': ['127.0.0.1'] });
    const opts: FetchOptions = { allowPrivateAddresses: ['news.example.com'], lookup: dns.lookup, allowedPorts: ports };
    const err = await loadError(fetchArticle(`http://news.example.com:${port}/to-loopback`, opts));
    expect(err.reason).toBe('refused: 127.0.0.1 is a loopback address');
    expect(requests.map((r) => r.url)).toEqual(['/to-loopback']); // /secret never requested
  });

  it('refuses a redirect to a host that resolves to a private address', async () => {
    const dns = fakeDns({ 'news.example.com': ['127.0.0.1'], 'internal.example': ['10.0.0.5'] });
    const opts: FetchOptions = { allowPrivateAddresses: ['news.example.com'], lookup: dns.lookup, allowedPorts: ports };
    const err = await loadError(fetchArticle(`http://news.example.com:${port}/to-internal`, opts));
    expect(err.reason).toBe('refused: internal.example resolves to 10.0.0.5, a private address');
    expect(dns.calls).toEqual(['news.example.com', 'internal.example']);
    expect(requests.map((r) => r.url)).toEqual(['/to-internal']);
  });

  it('refuses a redirect to a non-http scheme', async () => {
    const err = await loadError(fetchArticle(`${base}/to-file`, LOCAL));
    expect(err.reason).toMatch(/^refused: redirected to uses file:, only http and https/);
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/a.txt', 'data:text/html,<p>hi</p>', 'javascript:alert(1)', 'gopher://example.com/'])(
    'refuses the non-http URL %s',
    async (url) => {
      const err = await loadError(fetchArticle(url, LOCAL));
      expect(err.file).toBe(url);
      expect(err.reason).toMatch(/^refused: the URL uses \w+:, only http and https links can be added$/);
    },
  );

  it('refuses URLs with credentials', async () => {
    const err = await loadError(fetchArticle(`http://admin:secret@127.0.0.1:${port}/article`, LOCAL));
    expect(err.reason).toMatch(/user name or password/);
    expect(requests).toEqual([]);
  });

  it('explains a URL that is not a URL', async () => {
    expect((await loadError(fetchArticle('example.com/article'))).reason).toMatch(/not a valid URL/);
  });
});

describe('fetchArticle: limits and failures', () => {
  it('stops after too many redirects', async () => {
    const err = await loadError(fetchArticle(`${base}/loop?n=0`, LOCAL));
    expect(err.reason).toBe('too many redirects (max 3)');
    expect(requests).toHaveLength(4);
    const once = await loadError(fetchArticle(`${base}/loop?n=0`, { ...LOCAL, maxRedirects: 0 }));
    expect(once.reason).toBe('too many redirects (max 0)');
  });

  it('times out on a response that never ends', async () => {
    const start = Date.now();
    const err = await loadError(fetchArticle(`${base}/hang`, { ...LOCAL, timeoutMs: 300 }));
    expect(err.reason).toBe('timed out after 300 ms');
    expect(Date.now() - start).toBeLessThan(1500);
  });

  it('times out on a server that never answers', async () => {
    const err = await loadError(fetchArticle(`${base}/silent`, { ...LOCAL, timeoutMs: 200 }));
    expect(err.reason).toBe('timed out after 200 ms');
  });

  it('times out while resolving', async () => {
    const lookup = () => new Promise<ResolvedAddress[]>(() => {});
    const err = await loadError(fetchArticle('http://slow-dns.example.com/', { timeoutMs: 100, lookup }));
    expect(err.reason).toBe('timed out after 100 ms');
  });

  it('says the default time-out in seconds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const lookup = () => new Promise<ResolvedAddress[]>(() => {});
      const pending = loadError(fetchArticle('http://slow-dns.example.com/', { lookup }));
      await vi.advanceTimersByTimeAsync(10_000);
      expect((await pending).reason).toBe('timed out after 10 s');
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops reading a body larger than maxBytes', async () => {
    const err = await loadError(fetchArticle(`${base}/big`, { ...LOCAL, maxBytes: 4096 }));
    expect(err.reason).toBe('page is larger than 4 KB');
  });

  it('fails at once when Content-Length is over the limit', async () => {
    const start = Date.now();
    const err = await loadError(fetchArticle(`${base}/big-declared`, { ...LOCAL, timeoutMs: 2000 }));
    expect(err.reason).toBe('page is larger than 5 MB');
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('refuses unsupported content types', async () => {
    const err = await loadError(fetchArticle(`${base}/image.png`, LOCAL));
    expect(err.reason).toMatch(/^unsupported content type image\/png/);
  });

  it('reports a 404 with its status', async () => {
    const url = `${base}/missing`;
    const err = await loadError(fetchArticle(url, LOCAL));
    expect(err.file).toBe(url);
    expect(err.reason).toBe('the server answered 404 Not Found (page not found)');
  });

  it('reports a host that does not resolve', async () => {
    const dns = fakeDns({ 'nope.invalid': [] });
    const err = await loadError(fetchArticle('https://nope.invalid/', { lookup: dns.lookup }));
    expect(err.reason).toBe('could not find the host nope.invalid (no such host — check the spelling)');
  });

  it('reports a refused connection', async () => {
    // A port on 127.0.0.1 where nothing listens: closed right after binding.
    const tmp = http.createServer();
    await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
    const closedPort = (tmp.address() as AddressInfo).port;
    await new Promise<void>((resolve) => tmp.close(() => resolve()));
    const err = await loadError(fetchArticle(`http://127.0.0.1:${closedPort}/`, { ...LOCAL, allowedPorts: [closedPort] }));
    expect(err.reason).toBe('could not connect: the server refused the connection');
  });
});
