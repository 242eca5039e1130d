/**
 * Issue 12, item 11: the smaller findings of the review, one test each.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { fetchArticle } from '../src/core/load/fetch-url.js';
import { decodeText, htmlToArticle, LoadError, loadBuffer, loadDirectory } from '../src/core/load/index.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const MOD = { id: '111111111111111111', name: 'mod', via: 'discord' };

describe('titles have a length limit, and say so', () => {
  const longLine = `${'word '.repeat(10_000).trim()}.`; // 50,000 characters

  it('.txt: a 50,000-character first line gives a capped title and stays in the body', async () => {
    const article = await loadBuffer('long.txt', Buffer.from(`${longLine}\n\nA second paragraph of the note.`));
    expect(article.title.length).toBeLessThanOrEqual(200);
    expect(article.title.endsWith('…')).toBe(true);
    expect(article.body).toContain(longLine);
    expect(article.notes?.[0]).toMatch(/title was 50,000 characters long; it was cut to 200/);
  });

  it('.html and .pdf titles are capped too', async () => {
    const html = `<html><head><title>${longLine}</title></head><body><p>The harbour works will cost twelve million pounds, the council said.</p></body></html>`;
    const article = await loadBuffer('page.html', Buffer.from(html));
    expect(article.title.length).toBeLessThanOrEqual(200);
    expect(article.notes).toHaveLength(1);
  });

  it('the note reaches the /kb add result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'title-cap-'));
    const kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
    try {
      const admin = new KnowledgeAdmin({ kb });
      const raw = await loadBuffer('long.txt', Buffer.from(`${longLine}\n\nA second paragraph of the note.`));
      const result = await admin.add(raw, MOD);
      expect(result.status).toBe('added');
      expect(result.status === 'added' && result.notes).toEqual(raw.notes);
      expect(raw.notes).toHaveLength(1);
    } finally {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the citation link of a fetched page', () => {
  const page = (canonical: string) =>
    `<html><head><title>Harbour works</title><link rel="canonical" href="${canonical}"></head><body><article><p>The harbour works will cost twelve million pounds and finish in the spring, the council said on Monday.</p></article></body></html>`;

  it('keeps the URL the moderator gave when the canonical URL points at another site', () => {
    expect(htmlToArticle(page('https://evil.example/phish'), 'x', 'https://news.example.com/harbour').url).toBe('https://news.example.com/harbour');
  });

  it('takes the canonical URL of the same site (www. or not)', () => {
    expect(htmlToArticle(page('https://www.news.example.com/harbour-works'), 'x', 'https://news.example.com/harbour?utm=1').url).toBe(
      'https://www.news.example.com/harbour-works',
    );
  });
});

describe('URL ingest ports', () => {
  it('refuses a port other than 80 and 443 before connecting', async () => {
    const error = await fetchArticle('http://93.184.216.34:8080/admin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadError);
    expect((error as LoadError).reason).toMatch(/port 8080.*only ports 80 and 443/);
  });

  it('allows a port of the allow-list', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Harbour works\n\nThe harbour works will cost twelve million pounds, the council said.');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `http://127.0.0.1:${port}/notes.txt`;
      await expect(fetchArticle(url, { allowPrivateAddresses: true })).rejects.toThrow(new RegExp(`port ${port}`));
      const article = await fetchArticle(url, { allowPrivateAddresses: true, allowedPorts: [port] });
      expect(article.title).toBe('Harbour works');
    } finally {
      server.close();
    }
  });
});

describe('knowledge-folder files of other articles are left alone', () => {
  let dir: string;
  let knowledge: string;
  let kb: KnowledgeBase;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prefix-'));
    knowledge = join(dir, 'knowledge');
    mkdirSync(knowledge);
    kb = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder: new HashEmbedder() });
  });
  afterEach(async () => {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removing "Cup Final 2024" does not trash cup-final-2024.md, which holds "Cup Final"', async () => {
    writeFileSync(join(knowledge, 'cup-final-2024.md'), '# Cup Final\n\nRovers won the cup final at Wembley on Saturday after a late goal from the captain.\n');
    await kb.ingest((await loadDirectory(knowledge)).articles);
    await kb.ingest([{ title: 'Cup Final 2024', body: 'The 2024 final was played in May, and United won it on penalties after a goalless draw.', origin: 'typed' }]);
    const admin = new KnowledgeAdmin({ kb, knowledgeDir: knowledge });
    const { files } = await admin.remove('cup-final-2024', MOD);
    expect(files).toEqual([]);
    expect(readdirSync(knowledge)).toContain('cup-final-2024.md');
    expect(await kb.getArticle('cup-final')).toBeDefined();
  });
});

describe('pending confirmations', () => {
  it('hold at most maxPendingBytes in all: the oldest expire first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pending-'));
    const kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
    try {
      const admin = new KnowledgeAdmin({ kb, maxPendingBytes: 10_000 });
      const raw = (n: number) => ({ kind: 'add', raw: { title: `T${n}`, body: 'x'.repeat(4000), origin: 'typed' } });
      // Staged one after another, so the first is the oldest; each holds about 4 kB.
      const tokens: string[] = [];
      for (const n of [1, 2, 3]) tokens.push(await admin.stage('u', raw(n)));
      expect(await admin.take(tokens[0], 'u')).toEqual({ ok: false, reason: 'expired' });
      expect((await admin.take(tokens[1], 'u')).ok).toBe(true);
      expect((await admin.take(tokens[2], 'u')).ok).toBe(true);
      expect(await admin.pendingConfirmations()).toBe(0);
    } finally {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pending confirmations in the store', () => {
  it('survive closing and re-opening the knowledge base (a restart), for the member who staged them only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pending-restart-'));
    try {
      let kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
      const token = await new KnowledgeAdmin({ kb }).stage('mod', { kind: 'remove', id: 'rovers-lift-the-cup' });
      await kb.close();
      kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
      try {
        const admin = new KnowledgeAdmin({ kb });
        expect(await admin.pendingConfirmations()).toBe(1);
        expect(await admin.take(token, 'someone-else')).toEqual({ ok: false, reason: 'not-yours' });
        expect(await admin.take(token, 'mod')).toEqual({ ok: true, data: { kind: 'remove', id: 'rovers-lift-the-cup' } });
        expect(await admin.take(token, 'mod')).toEqual({ ok: false, reason: 'expired' });
      } finally {
        await kb.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('text files in legacy East Asian encodings', () => {
  const japanese = '東京で会談が行われた。両国の代表が出席し、合意文書に署名した。今後の協議は来月に予定されている。';
  const chinese = '会谈在卡塔尔举行。双方代表出席并签署了协议文件。下一轮磋商定于下月举行。';

  it('decodes Shift-JIS without a BOM or charset', () => {
    expect(decodeText(iconv.encode(japanese, 'shift_jis'), 'ja.txt')).toBe(japanese);
  });

  it('decodes GBK without a BOM or charset', () => {
    expect(decodeText(iconv.encode(chinese, 'gbk'), 'zh.txt')).toBe(chinese);
  });

  it('still reads a stray Latin-1 byte in English text as windows-1252', () => {
    expect(decodeText(Buffer.from('The caf\xe9 costs \xa35 in the town centre, the owner said.', 'latin1'), 'en.txt')).toBe('The café costs £5 in the town centre, the owner said.');
  });
});

describe('the BM25 snapshot', () => {
  it('is used only when it holds exactly the catalog passages; otherwise BM25 is rebuilt from the catalog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bm25-'));
    try {
      let kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
      await kb.ingest((await loadDirectory('knowledge')).articles);
      const live = (await kb.stats()).passages;
      await kb.close(); // writes the snapshot of this version
      const [snapshot] = readdirSync(dir).filter((f) => /^lexical-.*\.json$/.test(f));
      expect(snapshot).toBeDefined();
      // A snapshot of the same version and size, but of other passages (a stray or damaged file).
      const { LexicalIndex } = await import('../src/core/store/lexical-index.js');
      const stray = new LexicalIndex();
      stray.addAll(Array.from({ length: live }, (_, i) => ({ label: 100_000 + i, title: 'Zebras', text: `zebra crossing number ${i}` })));
      writeFileSync(join(dir, snapshot), stray.toJSON());
      kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
      try {
        const { passages } = await kb.retrieve('Where did the talks between the U.S. and Hamas take place?');
        expect(passages.length).toBeGreaterThan(0);
        expect(passages.some((p) => (p.lexical ?? 0) > 0)).toBe(true);
        expect(kb.startup!.lexicalFrom).toBe('catalog');
      } finally {
        await kb.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
