/**
 * Issue 12, items 1 and 2: reading and chunking run on the parse worker, within time, page,
 * text-size, expansion and memory limits; the main thread's event loop keeps turning meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { LoadError, loadBuffer } from '../src/core/load/index.js';
import { parseThread } from '../src/core/offload/thread.js';
import { buildPdf, buildPdfPages } from './fixtures/pdf.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

/** How many times the main event loop turned while `work` ran. */
async function turnsDuring<T>(work: () => Promise<T> | T): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    const value = await work();
    return { value, turns };
  } finally {
    running = false;
  }
}

/** About 5 MB of distinct paragraphs. */
function bigText(): string {
  const lines: string[] = ['Five megabytes of minutes'];
  // The length is kept as lines are added (joining every turn made this quadratic, and slow under load).
  let length = lines[0].length;
  for (let i = 0; length < 5_000_000 - 200; i++) {
    const line = `Item ${i}: the committee discussed budget line ${i * 7} and agreed to revisit clause ${i % 97} on day ${i % 31} of the session ${i}.`;
    lines.push(line);
    length += 2 + line.length;
  }
  return lines.join('\n\n');
}

let dir: string;
let kb: KnowledgeBase;
let admin: KnowledgeAdmin;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'offload-'));
  kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
  admin = new KnowledgeAdmin({ kb });
  // Start the parse worker once, so the tests below see its work, not its start-up.
  await loadBuffer('warm.pdf', buildPdf(['Warm up the parse worker with a line of text.']));
});
afterAll(async () => {
  await kb.close();
  await parseThread().close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reading and chunking off the main thread (item 1)', () => {
  const text = bigText();

  it('reads a 5 MB .txt upload on the parse worker: the event loop keeps turning', async () => {
    const { value, turns } = await turnsDuring(() => loadBuffer('minutes.txt', Buffer.from(text)));
    expect(value.title).toBe('Five megabytes of minutes');
    expect(turns).toBeGreaterThan(3);
  });

  it('previews (chunks and de-duplicates) a 5 MB article on the parse worker', async () => {
    const raw = { title: 'Five megabytes of minutes', body: text, origin: 'minutes.txt' };
    const { value, turns } = await turnsDuring(() => admin.preview(raw));
    expect(value.paragraphs).toBeGreaterThan(30_000);
    expect(turns).toBeGreaterThan(3);
  });
});

describe('limits on reading a file (item 2)', () => {
  const page = (n: number) => Array.from({ length: 30 }, (_, i) => `Page ${n} line ${i} of the report on the harbour works and the budget.`);

  it('refuses a PDF with more pages than the limit, before reading them', async () => {
    const pdf = buildPdfPages([page(1), page(2), page(3)]);
    await expect(loadBuffer('report.pdf', pdf, { limits: { maxPages: 2 } })).rejects.toThrow(/has 3 pages, more than the limit of 2/);
    expect((await loadBuffer('report.pdf', pdf, { limits: { maxPages: 3 } })).body).toContain('Page 3 line 29');
  });

  it('refuses a compressed-stream PDF whose text is over the text-size limit', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `Line ${i} of a stream that compresses very well indeed.`);
    const pdf = buildPdfPages([lines], { compress: true });
    expect(pdf.length).toBeLessThan(200_000);
    const error = await loadBuffer('stream.pdf', pdf, { limits: { maxTextChars: 100_000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadError);
    expect((error as LoadError).reason).toMatch(/longer than the limit of 100,000 characters/);
  });

  it('refuses a PDF whose streams expand beyond the expansion limit, without inflating them fully', async () => {
    const lines = Array.from({ length: 100_000 }, () => 'A'.repeat(60));
    const pdf = buildPdfPages([lines], { compress: true });
    await expect(loadBuffer('bomb.pdf', pdf, { limits: { maxExpandedBytes: 1024 * 1024 } })).rejects.toThrow(/expand to more than the limit of 1 MB/);
  });

  it('stops a file that takes longer than the time limit, and the next file still loads', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `Line ${i} of a long page of text.`);
    const pdf = buildPdfPages([lines], { compress: true });
    const started = parseThread().started;
    await expect(loadBuffer('slow.pdf', pdf, { limits: { timeoutMs: 5 } })).rejects.toThrow(/took longer than the limit of 0 s/);
    const next = await loadBuffer('ok.pdf', buildPdf(['A normal one-page file after the slow one.']));
    expect(next.body).toContain('A normal one-page file');
    expect(parseThread().started).toBe(started + 1);
  });

  it('refuses a very large HTML page by the text-size limit, on the worker', async () => {
    const html = `<html><head><title>Big page</title></head><body>${'<p>Paragraph of the big page with some words.</p>'.repeat(5000)}</body></html>`;
    await expect(loadBuffer('big.html', Buffer.from(html), { limits: { maxTextChars: 50_000 } })).rejects.toThrow(/longer than the limit of 50,000/);
  });

  it('an upload over a limit gets a clear message and changes nothing', async () => {
    const lines = Array.from({ length: 100_000 }, () => 'A'.repeat(60));
    const pdf = buildPdfPages([lines], { compress: true });
    const server = http.createServer((_req, res) => res.end(pdf));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bomb.pdf`;
    const limited = new KnowledgeAdmin({ kb, parse: { maxExpandedBytes: 1024 * 1024 } });
    const version = (await kb.stats()).version;
    try {
      const error = await limited.loadUpload({ name: 'bomb.pdf', size: pdf.length, url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserInputError);
      expect((error as Error).message).toBe('Could not add "bomb.pdf": its compressed streams expand to more than the limit of 1 MB. Nothing was changed.');
      expect((await kb.stats()).version).toBe(version);
    } finally {
      server.close();
    }
  });
});
