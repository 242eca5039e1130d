/**
 * `.pdf` via unpdf (pdf.js). Paragraphs come from the text layer's line positions: a vertical gap
 * clearly larger than the usual line spacing starts a new paragraph. PDFs without a text layer
 * (scans) are refused with a reason the user can act on.
 */
import zlib from 'node:zlib';
import { getDocumentProxy, getMeta } from 'unpdf';
import type { RawArticle } from '../types.js';
import { collapseSpaces, joinParagraphs, LoadError, normaliseDate, titleFromFileName } from './decode.js';

/** The page and text bounds of reading a PDF (see ParseLimits in parse.ts). */
export interface PdfLimits {
  maxPages: number;
  maxTextChars: number;
  maxExpandedBytes: number;
}

/**
 * Inflates every Flate stream of the file (bounded by what is left of `maxBytes`) before pdf.js
 * sees it: a few MB of PDF can hold streams that expand to gigabytes, outside any JS heap limit.
 * Streams that are not Flate (images, other filters) fail to inflate at once and are skipped.
 */
function checkExpansion(bytes: Uint8Array, origin: string, maxBytes: number): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const text = buf.toString('latin1');
  const start = /stream(?:\r\n|\n|\r)/g;
  let total = 0;
  for (let m = start.exec(text); m; m = start.exec(text)) {
    const from = m.index + m[0].length;
    const end = text.indexOf('endstream', from);
    if (end === -1) break;
    start.lastIndex = end + 'endstream'.length;
    if (text.startsWith('end', m.index - 3)) continue; // "endstream" itself
    try {
      total += zlib.inflateSync(buf.subarray(from, end), { maxOutputLength: maxBytes - total + 1 }).length;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) total = maxBytes + 1;
      // anything else: not a (complete) Flate stream
    }
    if (total > maxBytes) {
      throw new LoadError(origin, `its compressed streams expand to more than the limit of ${Math.round(maxBytes / (1024 * 1024))} MB`);
    }
  }
}

const NO_TEXT = 'has no text layer (scanned?) — export it with text or paste the text instead';

interface Line {
  text: string;
  y: number;
  fontSize: number;
}

export async function loadPdf(
  bytes: Uint8Array,
  origin: string,
  url?: string,
  limits: PdfLimits = { maxPages: 1000, maxTextChars: 10_000_000, maxExpandedBytes: 256 * 1024 * 1024 },
): Promise<RawArticle> {
  if (bytes.length === 0) throw new LoadError(origin, 'empty file');
  checkExpansion(bytes, origin, limits.maxExpandedBytes);
  // pdf.js may transfer (detach) the buffer it is given: hand it a copy.
  const data = new Uint8Array(bytes);
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // verbosity 0: errors only (pdf.js otherwise warns on stderr about every odd file).
    pdf = await getDocumentProxy(data, { verbosity: 0 });
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e?.name === 'PasswordException') throw new LoadError(origin, 'is password-protected — remove the password and upload it again');
    throw new LoadError(origin, `not a readable PDF (${collapseSpaces(e?.message ?? String(err))})`);
  }

  try {
    if (pdf.numPages > limits.maxPages) {
      throw new LoadError(origin, `has ${pdf.numPages} pages, more than the limit of ${limits.maxPages} (split it into several files)`);
    }
    // Page by page, so a page whose streams expand into too much text stops the reading there.
    const pages: string[][] = [];
    let chars = 0;
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      const items: Item[] = [];
      for (const item of content.items as { str?: string; transform?: number[]; hasEOL?: boolean }[]) {
        if (item.str == null) continue;
        chars += item.str.length;
        const [, , c = 0, d = 0, , f = 0] = item.transform ?? [];
        items.push({ str: item.str, y: f, fontSize: Math.hypot(c, d), hasEOL: Boolean(item.hasEOL) });
      }
      page.cleanup();
      if (chars > limits.maxTextChars) {
        throw new LoadError(
          origin,
          `its text is longer than the limit of ${limits.maxTextChars.toLocaleString('en-US')} characters (split it into several articles)`,
        );
      }
      pages.push(pageParagraphs(items));
    }

    const paragraphs = mergeAcrossPages(pages);
    const body = joinParagraphs(paragraphs);
    if (!body) throw new LoadError(origin, NO_TEXT);

    const { title, date } = await readMeta(pdf);
    const article: RawArticle = { title: title || titleFromFileName(origin), body, origin };
    if (url) article.url = url;
    if (date) article.date = date;
    return article;
  } finally {
    await pdf.destroy().catch(() => undefined);
  }
}

async function readMeta(pdf: Parameters<typeof getMeta>[0]): Promise<{ title: string; date?: string }> {
  try {
    const { info, metadata } = await getMeta(pdf);
    const xmpTitle = metadata && typeof metadata.get === 'function' ? metadata.get('dc:title') : undefined;
    const raw = typeof info?.Title === 'string' && info.Title.trim() ? info.Title : typeof xmpTitle === 'string' ? xmpTitle : '';
    return { title: cleanTitle(raw), date: pdfDate(info?.CreationDate) };
  } catch {
    return { title: '' };
  }
}

/** Drops the placeholder titles word processors write ("Untitled", "Microsoft Word - x.docx"). */
function cleanTitle(raw: string): string {
  let t = collapseSpaces(raw).replace(/^Microsoft (?:Word|PowerPoint|Excel) - /i, '');
  t = t.replace(/\.(docx?|pptx?|xlsx?|odt|rtf|txt)$/i, '');
  return /^(untitled|document\d*|title)$/i.test(t) ? '' : t;
}

/** PDF dates look like "D:20240305101500+01'00'"; only the calendar date is kept. */
function pdfDate(v: unknown): string | undefined {
  if (v instanceof Date) return normaliseDate(v);
  if (typeof v !== 'string') return undefined;
  const m = v.match(/^(?:D:)?(\d{4})(\d{2})?(\d{2})?/);
  if (!m) return undefined;
  return [m[1], m[2], m[3]].filter(Boolean).join('-');
}

type Item = { str: string; y: number; fontSize: number; hasEOL: boolean };

function pageParagraphs(items: Item[]): string[] {
  const lines: Line[] = [];
  let cur: Line | null = null;
  for (const it of items) {
    if (cur && Math.abs(it.y - cur.y) > Math.max(1, cur.fontSize * 0.5) && it.str.trim() !== '') {
      lines.push(cur);
      cur = null;
    }
    if (!cur) {
      if (it.str.trim() === '' && it.hasEOL) continue;
      cur = { text: '', y: it.y, fontSize: it.fontSize || 10 };
    }
    cur.text += it.str;
    if (it.hasEOL) {
      lines.push(cur);
      cur = null;
    }
  }
  if (cur) lines.push(cur);

  const kept = lines.map((l) => ({ ...l, text: collapseSpaces(l.text) })).filter((l) => l.text !== '');
  if (kept.length === 0) return [];

  // The usual spacing between consecutive lines: the lower median of the downward steps (most
  // steps are line steps; with as many paragraph gaps as line steps, the smaller one wins).
  const steps = kept
    .slice(1)
    .map((l, i) => kept[i].y - l.y)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  const usual = steps.length > 0 ? steps[Math.floor((steps.length - 1) / 2)] : 0;

  const paragraphs: string[] = [];
  let para = kept[0].text;
  for (let i = 1; i < kept.length; i++) {
    const step = kept[i - 1].y - kept[i].y;
    const newPara =
      step <= 0 || // went back up the page: a new column or a float
      (usual > 0 && step > usual * 1.4) ||
      Math.abs(kept[i].fontSize - kept[i - 1].fontSize) > 1.5; // heading ↔ body text
    if (newPara) {
      paragraphs.push(para);
      para = kept[i].text;
    } else {
      para = joinLine(para, kept[i].text);
    }
  }
  paragraphs.push(para);
  return paragraphs;
}

/** Joins a wrapped line, undoing end-of-line hyphenation ("exam-" + "ple" → "example"). */
function joinLine(a: string, b: string): string {
  if (/[A-Za-z]-$/.test(a) && /^[a-z]/.test(b)) return a.slice(0, -1) + b;
  return `${a} ${b}`;
}

/** A paragraph cut by a page break (no sentence end, next page starts lower-case) is rejoined. */
function mergeAcrossPages(pages: string[][]): string[] {
  const out: string[] = [];
  for (const page of pages) {
    for (const [i, p] of page.entries()) {
      const prev = out[out.length - 1];
      if (i === 0 && prev !== undefined && !/[.!?:;"”’)\]]$/.test(prev) && /^[a-z]/.test(p)) {
        out[out.length - 1] = joinLine(prev, p);
      } else {
        out.push(p);
      }
    }
  }
  return out;
}
