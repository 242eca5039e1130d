/**
 * `.html` / `.htm`: the main text via @mozilla/readability on a linkedom document, split into
 * paragraphs at block elements. Navigation, footers, scripts and styles never reach the body.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import type { RawArticle } from '../types.js';
import { collapseSpaces, decodeText, joinParagraphs, LoadError, normaliseDate, titleFromFileName } from './decode.js';

/** Elements whose text is never article text. */
const SKIP = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'NAV',
  'FOOTER',
  'ASIDE',
  'FORM',
  'BUTTON',
  'SELECT',
  'TEXTAREA',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'SVG',
  'CANVAS',
  'HEAD',
  'TITLE',
  'META',
  'LINK',
]);

/** Elements that start and end a paragraph. */
const BLOCK = new Set([
  'P',
  'DIV',
  'LI',
  'UL',
  'OL',
  'DL',
  'DT',
  'DD',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'BLOCKQUOTE',
  'PRE',
  'SECTION',
  'ARTICLE',
  'MAIN',
  'HEADER',
  'FIGURE',
  'FIGCAPTION',
  'TABLE',
  'THEAD',
  'TBODY',
  'TFOOT',
  'TR',
  'CAPTION',
  'ADDRESS',
  'DETAILS',
  'SUMMARY',
  'HR',
  'BODY',
  'HTML',
]);

/** Structural boilerplate removed before the no-Readability fallback walks the whole page. */
const FALLBACK_REMOVE = 'script, style, noscript, template, nav, header, footer, aside, form, iframe, svg, [role="navigation"], [role="banner"], [role="contentinfo"], [hidden], [aria-hidden="true"]';

// linkedom's DOM types are its own; only the few members used here are described.
interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}
interface DomElement extends DomNode {
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement & { remove(): void }>;
}

export function htmlToArticle(html: string, origin: string, url?: string): RawArticle {
  const meta = readMeta(parseDocument(html), url);

  // Readability mutates the document it reads, so it gets a fresh one.
  let readable: { title?: string | null; content?: string | null; publishedTime?: string | null; byline?: string | null } | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readable = new Readability(parseDocument(html) as any).parse();
  } catch {
    readable = null;
  }

  let paragraphs: string[] = [];
  if (readable?.content) {
    paragraphs = blockParagraphs(parseDocument(readable.content).documentElement);
  }
  if (paragraphs.length === 0) {
    const doc = parseDocument(html);
    for (const el of Array.from(doc.documentElement.querySelectorAll(FALLBACK_REMOVE))) el.remove();
    paragraphs = blockParagraphs(doc.body ?? doc.documentElement);
  }

  const title =
    collapseSpaces(readable?.title ?? '') || meta.title || meta.ogTitle || titleFromFileName(origin);
  if (paragraphs.length > 0 && paragraphs[0].toLowerCase() === title.toLowerCase()) paragraphs.shift();

  const body = joinParagraphs(paragraphs);
  if (!body) throw new LoadError(origin, 'no readable text in the HTML');

  const article: RawArticle = { title, body, origin };
  // The page's own canonical (or og:) URL only when it is on the site the page came from: a page
  // must not make its citation link point at another site.
  const own = [meta.canonical, meta.ogUrl].find((u) => u !== undefined && (!url || sameSite(u, url)));
  const articleUrl = own ?? url;
  if (articleUrl) article.url = articleUrl;
  const date = meta.published ?? normaliseDate(readable?.publishedTime) ?? meta.otherDate;
  if (date) article.date = date;
  // The page's author metadata first; Readability's byline is a guess from the text ("By Jane Doe, BBC News").
  const author = meta.author || bylineName(readable?.byline);
  if (author) article.author = author;
  return article;
}

/** `charset`: what the server declared (Content-Type), preferred over the page's own `<meta charset>`. */
export function loadHtml(bytes: Uint8Array, origin: string, url?: string, charset?: string): RawArticle {
  return htmlToArticle(decodeText(bytes, origin, { fallbackEncoding: charset ?? sniffCharset(bytes) }), origin, url);
}

/** The charset a page declares in its first KB (`<meta charset>` or http-equiv), if any. */
function sniffCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 2048)).toString('latin1');
  return head.match(/<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i)?.[1];
}

function parseDocument(html: string): { documentElement: DomElement; body: DomElement | null } {
  // linkedom only builds <html>/<body> when the markup has them; fragments get wrapped.
  const markup = /<html[\s>]/i.test(html) ? html : `<!DOCTYPE html><html><head></head><body>${html}</body></html>`;
  const { document } = parseHTML(markup);
  return document as unknown as { documentElement: DomElement; body: DomElement | null };
}

function readMeta(doc: { documentElement: DomElement }, base?: string) {
  const root = doc.documentElement;
  const metaContent = (...selectors: string[]) => {
    for (const s of selectors) {
      const v = collapseSpaces(root.querySelector(s)?.getAttribute('content') ?? '');
      if (v) return v;
    }
    return '';
  };
  const canonicalHref = Array.from(root.querySelectorAll('link[rel][href]')).find((l) =>
    (l.getAttribute('rel') ?? '').toLowerCase().split(/\s+/).includes('canonical'),
  );

  const publishedRaw = metaContent(
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
  );
  const timeEl = root.querySelector('time[datetime]');
  const otherRaw =
    metaContent('meta[name="date"]', 'meta[name="pubdate"]', 'meta[name="DC.date"]', 'meta[name="dc.date"]') ||
    (timeEl?.getAttribute('datetime') ?? '');

  return {
    title: collapseSpaces(root.querySelector('title')?.textContent ?? ''),
    ogTitle: metaContent('meta[property="og:title"]', 'meta[name="og:title"]', 'meta[name="twitter:title"]'),
    canonical: absoluteUrl(canonicalHref?.getAttribute('href') ?? '', base),
    ogUrl: absoluteUrl(metaContent('meta[property="og:url"]', 'meta[name="og:url"]'), base),
    published: normaliseDate(publishedRaw),
    // An article:author that is a profile URL names nobody a reader would recognise.
    author: [
      metaContent('meta[name="author"]', 'meta[name="dc.creator"]', 'meta[name="DC.creator"]', 'meta[name="parsely-author"]', 'meta[name="sailthru.author"]'),
      metaContent('meta[property="article:author"]'),
    ].find((a) => a && !/^(https?:)?\/\//i.test(a)),
    otherDate: normaliseDate(otherRaw),
  };
}

/** Readability's byline ("By Jane Doe", "Jane Doe, BBC News") as a name, when it looks like one. */
function bylineName(byline: string | null | undefined): string | undefined {
  const text = collapseSpaces(byline ?? '').replace(/^by\s+/i, '');
  return text && text.length <= 120 ? text : undefined;
}

/** Same host, give or take a leading "www.". */
function sameSite(a: string, b: string): boolean {
  try {
    const host = (u: string) => new URL(u).hostname.toLowerCase().replace(/^www\./, '');
    return host(a) === host(b);
  } catch {
    return false;
  }
}

/** http(s) URL, resolved against `base` when relative; undefined when it cannot be made absolute. */
function absoluteUrl(href: string, base?: string): string | undefined {
  const h = href.trim();
  if (!h) return undefined;
  try {
    const u = base ? new URL(h, base) : new URL(h);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** Text of `root` split into paragraphs at block elements, skipping non-content elements. */
function blockParagraphs(root: DomNode): string[] {
  const out: string[] = [];
  let buf = '';
  const flush = () => {
    const t = collapseSpaces(buf);
    if (t) out.push(t);
    buf = '';
  };
  const walk = (node: DomNode) => {
    const children = node.childNodes;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child.nodeType === 3) {
        buf += child.textContent ?? '';
        continue;
      }
      if (child.nodeType !== 1) continue;
      const tag = child.nodeName.toUpperCase();
      if (SKIP.has(tag)) continue;
      if (tag === 'BR' || tag === 'TD' || tag === 'TH') {
        buf += ' ';
        if (tag === 'BR') continue;
      }
      if (BLOCK.has(tag)) {
        flush();
        walk(child);
        flush();
      } else {
        walk(child);
        if (tag === 'TD' || tag === 'TH') buf += ' ';
      }
    }
  };
  walk(root);
  flush();
  return out;
}
