/**
 * npm run bench -- --upload-stress [--corpus DIR] [--model ID]
 *
 * Issue 12, item 2: what an upload costs the bot's event loop. With the knowledge base of `--corpus`
 * (default knowledge/) open and the bot's embedder set-up, two uploads go through the moderation
 * path up to the confirmation (read on the parse worker, then chunked and previewed): a 5 MB
 * text file, and compressed-stream PDFs (one that is read, with about two million characters on
 * 60 pages; one whose streams expand past the expansion limit and is refused). Meanwhile 20
 * questions are asked, one every 150 ms. Prints the worst event-loop delay (target: under 200 ms)
 * and the questions' latency (p50 / p95 / max). Embedding the upload is not part of it: that runs
 * on the embedding workers and takes minutes for 5 MB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDeflate } from 'node:zlib';
import { KnowledgeAdmin } from '../../src/core/admin/index.js';
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { loadBuffer, loadDirectory } from '../../src/core/load/index.js';
import { parseThread } from '../../src/core/offload/thread.js';
import { buildPdfPages } from '../../test/fixtures/pdf.js';
import { questionsFromCorpus } from './questions.js';
import { latency } from './stats.js';

/** About 5 MB of distinct paragraphs, as a .txt file. */
function fiveMegabyteText(): Buffer {
  const parts: string[] = ['Minutes of the harbour board, complete'];
  let size = parts[0].length;
  for (let i = 0; size < 5 * 1024 * 1024 - 200; i++) {
    const p = `Item ${i}: the board discussed budget line ${i * 7} for the harbour works and agreed to revisit clause ${i % 97} on day ${i % 31} of session ${i}.`;
    parts.push(p);
    size += p.length + 2;
  }
  return Buffer.from(parts.join('\n\n'));
}

/** A one-page PDF whose Flate content stream expands to `expandedMb` MB (built by streaming, never held whole). */
async function expandingPdf(expandedMb: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => deflate.on('end', r));
  const line = Buffer.from(`BT /F1 12 Tf 14 TL 72 720 Td ${'(All work and no play makes a dull report.) \' '.repeat(50)}ET\n`);
  const block = Buffer.concat(Array.from({ length: Math.ceil((1024 * 1024) / line.length) }, () => line));
  for (let i = 0; i < expandedMb; i++) if (!deflate.write(block)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await done;
  const stream = Buffer.concat(chunks);
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n')];
  const offsets: number[] = [];
  let length = parts[0].length;
  objects.forEach((o, i) => {
    offsets.push(length);
    const body = o === null
      ? Buffer.concat([Buffer.from(`<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`), stream, Buffer.from('\nendstream')])
      : Buffer.from(o);
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    parts.push(obj);
    length += obj.length;
  });
  parts.push(
    Buffer.from(
      `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`,
    ),
  );
  return Buffer.concat(parts);
}

export async function runUploadStress(options: { corpus?: string; model?: string } = {}): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const corpus = resolve(options.corpus ?? 'knowledge');
  const work = mkdtempSync(join(tmpdir(), 'upload-stress-'));
  const embedder = await startEmbedder({ model: options.model ?? 'bundled', modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 }, { log });
  try {
    const { articles } = await loadDirectory(corpus);
    const kb = await KnowledgeBase.open({ dataDir: join(work, 'kb'), embedder });
    await kb.ingest(articles);
    const admin = new KnowledgeAdmin({ kb });
    const questions = questionsFromCorpus(articles, 20).map((q) => q.question);
    for (const q of questions.slice(0, 3)) await kb.ask(q); // warm-up

    log('building the uploads …');
    const text = fiveMegabyteText();
    const lines = Array.from({ length: 40_000 }, (_, i) => `Line ${i} of the annual report on the harbour works, with figures for the year.`);
    const pages = Array.from({ length: 60 }, (_, p) => lines.slice(p * 666, (p + 1) * 666));
    const readable = buildPdfPages(pages, { compress: true });
    const bomb = await expandingPdf(1024);
    log(`  text ${(text.length / 1048576).toFixed(1)} MB; PDF ${(readable.length / 1048576).toFixed(2)} MB (60 pages, ${lines.join('').length.toLocaleString('en-US')} characters); ` +
      `PDF ${(bomb.length / 1048576).toFixed(2)} MB expanding to 1,024 MB`);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // Also the longest gap between 10 ms ticks, measured directly (the histogram's range is bounded).
    let last = performance.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last - 10);
      last = now;
    }, 10);
    const started = performance.now();
    const outcomes: string[] = [];
    const upload = async (name: string, bytes: Buffer) => {
      const t0 = performance.now();
      try {
        const raw = await loadBuffer(name, bytes, { origin: name });
        const preview = await admin.preview(raw);
        outcomes.push(`${name}: read and previewed in ${((performance.now() - t0) / 1000).toFixed(1)} s (${preview.paragraphs} paragraphs, ${preview.duplicatesDropped} duplicates dropped)`);
      } catch (error) {
        outcomes.push(`${name}: refused after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(error as Error).message}`);
      }
    };
    const asked: number[] = [];
    const asking = (async () => {
      const pending: Promise<void>[] = [];
      for (const q of questions) {
        pending.push(
          (async () => {
            const t0 = performance.now();
            await kb.ask(q);
            asked.push(performance.now() - t0);
          })(),
        );
        await new Promise((r) => setTimeout(r, 150));
      }
      await Promise.all(pending);
    })();
    await Promise.all([upload('minutes.txt', text), upload('report.pdf', readable), upload('expanding.pdf', bomb), asking]);
    delay.disable();
    clearInterval(ticker);
    const q = latency(asked);
    for (const line of outcomes) console.log(line);
    console.log(`upload stress: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
    const worst = Math.max(worstGap, delay.max / 1e6);
    console.log(`  worst event-loop delay: ${worst.toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; target < 200 ms)`);
    console.log(`  20 questions meanwhile: p50 ${q.p50.toFixed(1)} ms, p95 ${q.p95.toFixed(1)} ms, max ${q.max.toFixed(1)} ms`);
    await kb.close();
  } finally {
    await embedder.close();
    await parseThread().close();
    rmSync(work, { recursive: true, force: true });
  }
}
