import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeText, LoadError } from '../src/core/load/decode.js';
import { htmlToArticle } from '../src/core/load/html.js';
import { loadBuffer, loadDirectory, SUPPORTED_EXTENSIONS } from '../src/core/load/index.js';
import { buildPdf as buildPdfFile } from './fixtures/pdf.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Expects `fn` to reject/throw a LoadError and returns it. */
async function loadError(fn: () => unknown): Promise<LoadError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoadError);
    return err as LoadError;
  }
  throw new Error('expected a LoadError');
}

/** The test PDFs carry a creation date, to check that the loader reads it. */
const buildPdf = (lines: string[] | null, title?: string): Uint8Array => new Uint8Array(buildPdfFile(lines, title, 'D:20240305101500Z'));

describe('decodeText', () => {
  it('strips a UTF-8 BOM', () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('héllo')]), 'a.txt')).toBe('héllo');
  });

  it('honours UTF-16 LE and BE BOMs', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Título\n\ncafé ☕', 'utf16le')]);
    expect(decodeText(le, 'le.txt')).toBe('Título\n\ncafé ☕');
    const be = Buffer.from(Buffer.from('Título\n\ncafé ☕', 'utf16le')).swap16();
    expect(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'be.txt')).toBe('Título\n\ncafé ☕');
  });

  it('falls back to windows-1252 for a stray Latin-1 byte', () => {
    const bytes = Buffer.from('A caf\xe9 costs \xa35 \x93quoted\x94', 'latin1');
    expect(decodeText(bytes, 'x.txt')).toBe('A café costs £5 “quoted”');
  });

  it('rejects binary and empty content with a LoadError naming the file', async () => {
    const nul = await loadError(() => decodeText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]), 'img.txt'));
    expect(nul.file).toBe('img.txt');
    expect(nul.reason).toMatch(/binary/);
    const controls = new Uint8Array(2000).map((_, i) => (i % 3 === 0 ? 0x41 : 1 + (i % 7)));
    expect((await loadError(() => decodeText(controls, 'c.txt'))).reason).toMatch(/binary/);
    expect((await loadError(() => decodeText(new Uint8Array(), 'e.txt'))).reason).toMatch(/empty/);
    expect((await loadError(() => decodeText(enc(' \n\t\r\n '), 'w.txt'))).reason).toMatch(/empty/);
    expect((await loadError(() => decodeText(new Uint8Array([0xef, 0xbb, 0xbf]), 'bom.txt'))).reason).toMatch(/empty/);
  });
});

describe('text loader', () => {
  it('takes the first non-empty line as title and keeps paragraphs', async () => {
    const a = await loadBuffer('notes/a.txt', enc('\r\n  My Title  \r\n\r\nFirst para\r\nwraps here.\r\n\r\n\r\nSecond para.\r\n'));
    expect(a).toEqual({ title: 'My Title', body: 'First para wraps here.\n\nSecond para.', origin: 'notes/a.txt' });
  });

  it('reads one paragraph per line when there are no blank lines, and keeps url/origin options', async () => {
    const a = await loadBuffer('a.txt', enc('Title\nLine one.\nLine two.'), { url: 'https://e.com/a', origin: 'discord:42' });
    expect(a).toEqual({ title: 'Title', body: 'Line one.\n\nLine two.', origin: 'discord:42', url: 'https://e.com/a' });
  });

  it('uses the only line as body too', async () => {
    expect((await loadBuffer('a.txt', enc('Just one line.\n'))).body).toBe('Just one line.');
  });
});

describe('markdown loader', () => {
  const md = [
    '---',
    'title: Front Matter Title',
    'source: https://example.com/post',
    'date: 2024-03-05',
    '---',
    '# Front Matter Title',
    '',
    'Intro with *emphasis*, __strong__, a [link](https://x.com/a_(b)) and ![alt text](pic.png) here,',
    'wrapped with `inline code`, snake_case_name and \\*escaped stars\\*.',
    '',
    '<!-- hidden',
    'comment -->',
    '## Details ##',
    '',
    '- item one',
    '- item [two](http://u)',
    '1. numbered',
    '',
    '> quoted text',
    '',
    '```js',
    'const x = 1;',
    '```',
    '',
    '---',
    '',
    'Last paragraph.',
  ].join('\n');

  it('extracts front matter and converts the body to plain paragraphs', async () => {
    const a = await loadBuffer('post.md', enc(md));
    expect(a.title).toBe('Front Matter Title');
    expect(a.url).toBe('https://example.com/post');
    expect(a.date).toBe('2024-03-05');
    expect(a.origin).toBe('post.md');
    expect(a.body.split('\n\n')).toEqual([
      'Intro with emphasis, strong, a link and here, wrapped with inline code, snake_case_name and *escaped stars*.',
      'Details',
      '- item one\n- item two\n1. numbered',
      'quoted text',
      'const x = 1;',
      'Last paragraph.',
    ]);
    expect(a.body).not.toMatch(/hidden|comment|pic\.png|```|#/);
  });

  it('falls back to the first # heading, then to the file name; accepts `url`', async () => {
    const h = await loadBuffer('x.markdown', enc('---\nurl: https://e.com/h\ndate: 2023-01-02T10:00:00Z\n---\nIntro.\n\n# The Heading\n\nText.'));
    expect(h.title).toBe('The Heading');
    expect(h.url).toBe('https://e.com/h');
    expect(h.date).toBe('2023-01-02');
    expect(h.body).toBe('Intro.\n\nText.');
    const f = await loadBuffer('dir/My Notes.md', enc('## Only a subheading\n\nText.'));
    expect(f.title).toBe('My Notes');
    expect(f.body).toBe('Only a subheading\n\nText.');
    expect(f.url).toBeUndefined();
    expect(f.date).toBeUndefined();
  });

  it('reads the author from front matter: a name, a list of names, or {name}', async () => {
    const withAuthor = (fm: string) => loadBuffer('a.md', enc(`---\ntitle: T\n${fm}\n---\n\nSome body text of the article.`));
    expect((await withAuthor('author: Jane Doe')).author).toBe('Jane Doe');
    expect((await withAuthor('authors: [Jane Doe, John Roe]')).author).toBe('Jane Doe, John Roe');
    expect((await withAuthor('author:\n  name: Jane Doe')).author).toBe('Jane Doe');
    expect((await withAuthor('date: 2024-03-05')).author).toBeUndefined();
  });

  it('reports bad YAML front matter with the reason (every time)', async () => {
    const bad = enc('---\ntitle: [unclosed\nurl: x\n---\nBody.');
    for (let i = 0; i < 2; i++) {
      const err = await loadError(() => loadBuffer('bad.md', bad));
      expect(err.file).toBe('bad.md');
      expect(err.reason).toMatch(/^invalid YAML front matter: .+/);
    }
  });
});

describe('html loader', () => {
  const page = `<!doctype html><html><head>
    <title>Ignored Site Title</title>
    <meta property="og:title" content="The Story">
    <link rel="canonical" href="/news/story">
    <meta property="article:published_time" content="2024-03-05T10:00:00Z">
    <style>.x { color: red }</style>
    <script>window.TRACKING = "SCRIPT_TEXT";</script>
  </head><body>
    <nav><a href="/">Home</a> <a href="/news">NAV_TEXT news</a></nav>
    <header><div class="logo">HEADER_TEXT</div></header>
    <main><article>
      <h1>The Story</h1>
      <p>The first paragraph of the story has <a href="#">a link</a> and <em>enough words</em> to look like prose.</p>
      <p>The second paragraph
         spans lines in the source.</p>
      <h2>A sub heading</h2>
      <ul><li>First point</li><li>Second point</li></ul>
      <blockquote>A quoted remark.</blockquote>
      <script>console.log("SCRIPT_TEXT")</script>
      <p>Closing paragraph &amp; entities.</p>
    </article></main>
    <footer>FOOTER_TEXT copyright</footer>
  </body></html>`;

  it('keeps main text only, split at block elements', () => {
    const a = htmlToArticle(page, 'https://example.com/x?utm=1', 'https://example.com/x?utm=1');
    expect(a.title).toBe('The Story');
    expect(a.url).toBe('https://example.com/news/story');
    expect(a.date).toBe('2024-03-05T10:00:00Z');
    expect(a.origin).toBe('https://example.com/x?utm=1');
    expect(a.body.split('\n\n')).toEqual([
      'The first paragraph of the story has a link and enough words to look like prose.',
      'The second paragraph spans lines in the source.',
      'A sub heading',
      'First point',
      'Second point',
      'A quoted remark.',
      'Closing paragraph & entities.',
    ]);
    expect(a.body).not.toMatch(/NAV_TEXT|HEADER_TEXT|FOOTER_TEXT|SCRIPT_TEXT|color: red/);
  });

  it('reads og:url, <time datetime> and <title>; file uploads use the file name as origin', async () => {
    const html = `<html><head><title>Plain Title</title><meta property="og:url" content="https://e.com/p"></head>
      <body><nav>NAV_TEXT</nav><p>Posted <time datetime="2022-11-30">yesterday</time></p><p>Body text here.</p><footer>FOOTER_TEXT</footer></body></html>`;
    const a = await loadBuffer('page.HTM', enc(html));
    expect(a.title).toBe('Plain Title');
    expect(a.url).toBe('https://e.com/p');
    expect(a.date).toBe('2022-11-30');
    expect(a.origin).toBe('page.HTM');
    expect(a.body).toContain('Body text here.');
    expect(a.body).not.toMatch(/NAV_TEXT|FOOTER_TEXT/);
  });

  it('reads the author from the page metadata, never a profile URL, else from the byline', () => {
    const page = (head: string, body = '<p>Body text of the story, long enough to be the main text of the page.</p>') =>
      htmlToArticle(`<html><head><title>T</title>${head}</head><body><article>${body}</article></body></html>`, 'p.html');
    expect(page('<meta name="author" content="Jane Doe">').author).toBe('Jane Doe');
    expect(page('<meta property="article:author" content="https://social.example/jane">').author).toBeUndefined();
    expect(page('<meta property="article:author" content="Jane Doe">').author).toBe('Jane Doe');
    expect(page('', '<p class="byline">By John Roe</p><p>Body text of the story, long enough to be the main text of the page.</p>').author).toBe('John Roe');
    expect(page('').author).toBeUndefined();
  });

  it('decodes a page in its declared legacy charset', async () => {
    const bytes = Buffer.from('<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>Un caf\xe9 cr\xe8me.</p></body></html>', 'latin1');
    const a = await loadBuffer('cafe.html', bytes);
    expect(a.title).toBe('Café');
    expect(a.body).toBe('Un café crème.');
  });
});

describe('pdf loader', () => {
  it('extracts text, paragraphs and the title from metadata', async () => {
    const bytes = buildPdf(['Hello PDF world, this is the', 'first paragraph.', '', 'A second paragraph (with parens).'], 'A PDF Title');
    const a = await loadBuffer('doc.pdf', bytes);
    expect(a.title).toBe('A PDF Title');
    expect(a.date).toBe('2024-03-05');
    expect(a.body).toBe('Hello PDF world, this is the first paragraph.\n\nA second paragraph (with parens).');
  });

  it('falls back to the file name for the title', async () => {
    const a = await loadBuffer('files/Annual Report.pdf', buildPdf(['Some text.']));
    expect(a).toEqual({ title: 'Annual Report', body: 'Some text.', origin: 'files/Annual Report.pdf' });
  });

  it('refuses a PDF without a text layer, and garbage named .pdf', async () => {
    const err = await loadError(() => loadBuffer('scan.pdf', buildPdf(null)));
    expect(err.reason).toBe('has no text layer (scanned?) — export it with text or paste the text instead');
    expect((await loadError(() => loadBuffer('junk.pdf', enc('not a pdf at all')))).file).toBe('junk.pdf');
  });
});

describe('loadBuffer', () => {
  it('lists the supported extensions', () => {
    expect([...SUPPORTED_EXTENSIONS].sort()).toEqual(['.htm', '.html', '.markdown', '.md', '.pdf', '.txt']);
  });

  it('refuses unknown extensions with the supported list', async () => {
    const err = await loadError(() => loadBuffer('report.xyz', enc('hello')));
    expect(err.reason).toBe('unsupported file type .xyz (supported: .md, .txt, .html, .pdf)');
    expect(err.message).toContain('report.xyz');
  });
});

describe('loadDirectory', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'load-test-'));
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await mkdir(path.join(dir, '.hidden'));
    await writeFile(path.join(dir, 'b.txt'), 'Bee title\n\nBee body.');
    await writeFile(path.join(dir, 'a.md'), '# Ay\n\nAy body.');
    await writeFile(path.join(dir, 'latin1.txt'), Buffer.from('Caf\xe9 news\n\nThe caf\xe9 sold tea for \xa32.', 'latin1'));
    await writeFile(path.join(dir, 'binary.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
    await writeFile(path.join(dir, 'empty.txt'), '');
    await writeFile(path.join(dir, 'letter.docx'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]));
    await writeFile(path.join(dir, 'sub', 'page.html'), '<html><head><title>Sub Page</title></head><body><p>Sub page text.</p></body></html>');
    await writeFile(path.join(dir, 'sub', 'deeper', 'doc.pdf'), buildPdf(['Deep PDF text.']));
    await writeFile(path.join(dir, 'sub', 'scan.pdf'), buildPdf(null));
    await writeFile(path.join(dir, '.secret.md'), '# Hidden\n\nNope.');
    await writeFile(path.join(dir, '.hidden', 'x.md'), '# Hidden\n\nNope.');
    await writeFile(path.join(dir, 'utf16.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Wide title\n\nWide body ✓', 'utf16le')]));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the good files in order and reports the bad ones by name', async () => {
    const { articles, skipped } = await loadDirectory(dir);
    expect(articles.map((a) => a.origin)).toEqual(['a.md', 'b.txt', 'latin1.txt', 'sub/deeper/doc.pdf', 'sub/page.html', 'utf16.txt']);
    expect(articles.map((a) => a.title)).toEqual(['Ay', 'Bee title', 'Café news', 'doc', 'Sub Page', 'Wide title']);
    expect(articles.find((a) => a.origin === 'latin1.txt')!.body).toBe('The café sold tea for £2.');
    expect(articles.find((a) => a.origin === 'utf16.txt')!.body).toBe('Wide body ✓');
    expect(skipped.map((s) => s.file)).toEqual(['binary.txt', 'empty.txt', 'letter.docx', 'sub/scan.pdf']);
    expect(skipped.find((s) => s.file === 'binary.txt')!.reason).toMatch(/binary/);
    expect(skipped.find((s) => s.file === 'empty.txt')!.reason).toMatch(/empty/);
    expect(skipped.find((s) => s.file === 'letter.docx')!.reason).toBe('unsupported type');
    expect(skipped.find((s) => s.file === 'sub/scan.pdf')!.reason).toMatch(/no text layer/);
  });

  it('is deterministic', async () => {
    expect(await loadDirectory(dir)).toEqual(await loadDirectory(dir));
  });
});

const here = path.dirname(fileURLToPath(import.meta.url));
const bbcSport = path.resolve(here, '../../shared/corpora/bbc/sport');

describe.skipIf(!existsSync(bbcSport))('BBC sport corpus', () => {
  it('loads every file with no skips; 199.txt decodes its Latin-1 byte', async () => {
    const { articles, skipped } = await loadDirectory(bbcSport);
    expect(skipped).toEqual([]);
    expect(articles).toHaveLength(readdirSync(bbcSport).filter((f) => !f.startsWith('.')).length);
    for (const a of articles) {
      expect(a.title).not.toBe('');
      expect(a.body).not.toBe('');
      expect(a.body).not.toMatch(/\n{3,}/);
    }
    const a199 = articles.find((a) => a.origin === '199.txt')!;
    expect(a199.title).toBe('Chelsea sack Mutu');
    expect(a199.body).not.toContain('\ufffd');
    expect(a199.body).toContain('£15.8m');
  });
});
