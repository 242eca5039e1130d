/**
 * Time in questions: the window a question names (chrono-node, relative to the newest article),
 * and what a reader notices: the answer comes from the article of that period, the sources show
 * the date, and a period with no article answers from all of them and says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAnswer, sourceLabel } from '../src/bot/render.js';
import { formatAnswerForTerminal as formatAnswer } from '../src/cli/format.js';
import { newestTime, periodFromOptions, summarizeLatest } from '../src/core/dates/latest.js';
import { parseTimeQuery, RECENT_DAYS, withoutTime } from '../src/core/dates/time-query.js';
import { SummaryService } from '../src/core/summarize/service.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import type { AskResult } from '../src/core/types.js';
import type { RawArticle } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const REF = new Date('2005-03-15T12:00:00Z');
const day = (iso: string) => new Date(iso).toISOString();

describe('parseTimeQuery', () => {
  const cases: [string, { from?: string; to?: string; recency?: boolean } | undefined][] = [
    ['What happened in Iraq last week?', { from: day('2005-03-08'), to: day('2005-03-16T12:00:00Z') }],
    ['What did Blair say in March?', { from: day('2005-03-01'), to: day('2005-04-01') }],
    ['What has Apple done since Monday?', { from: day('2005-03-14') }],
    ['Who won the league in 2004?', { from: day('2004-01-01'), to: day('2005-01-01') }],
    ['What happened before 2005?', { to: day('2005-01-01') }],
    ['What happened between 1 Feb and 10 Mar?', { from: day('2005-02-01'), to: day('2005-03-11') }],
    ['What is the latest on Apple?', { from: new Date(REF.getTime() - RECENT_DAYS * 86_400_000).toISOString(), recency: true }],
    ['What happened in May?', { from: day('2004-05-01'), to: day('2004-06-01') }],
    ['Where did the talks take place?', undefined],
    // Not periods: a company, a film, an event's name, a verb, the present, the future.
    ['Why is Axa Sun Life paying smaller bonuses?', undefined],
    ['Tarantino might do a Friday the 13th film: when did the first one come out?', undefined],
    ['Who won the 2006 World Cup?', undefined],
    ['How many people were killed in the 7/7 London bombings?', undefined],
    ['Will the nurses march on Downing Street?', undefined],
    ['How many Premiership goals has Robbie Fowler got now?', undefined],
    ['How much will Brown borrow over the next six years?', undefined],
    ['How many people took part in 3 games?', undefined],
  ];
  for (const [question, expected] of cases) {
    it(question, () => {
      const w = parseTimeQuery(question, REF);
      if (!expected) expect(w).toBeUndefined();
      else expect({ from: w?.from, to: w?.to, ...(w?.recency ? { recency: true } : {}) }).toEqual({ from: expected.from, to: expected.to, ...(expected.recency ? { recency: true } : {}) });
    });
  }
});

// The texts do not name their month: only the publication date tells them apart.
const budget = (n: number, date: string, detail: string): RawArticle => ({
  title: `Riverton council report no. ${n}`,
  body: [
    `The Riverton city council voted on the annual budget at its meeting, after a long debate about the library.`,
    `The Riverton council approved ${detail}, the mayor told reporters after the vote.`,
  ].join('\n\n'),
  date,
  origin: 'typed',
});

describe('withoutTime', () => {
  it('searches the question without its time words and without the words they leave dangling', () => {
    const ref = new Date('2005-03-31T00:00:00Z');
    const strip = (q: string) => withoutTime(q, parseTimeQuery(q, ref)!);
    expect(strip('What happened in Iraq last week?')).toBe('What happened in Iraq?');
    expect(strip('what happened to Yukos in the past two weeks?')).toBe('what happened to Yukos?');
    expect(strip('Yukos over the past month?')).toBe('Yukos?');
    expect(strip('news on the war since February?')).toBe('news on the war?');
  });
});

describe('questions about time, end to end', () => {
  let dir: string;
  let kb: KnowledgeBase;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dates-test-'));
    kb = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder: new HashEmbedder() });
    await kb.ingest([
      budget(1, '2005-01-12', 'a new bridge over the Riverton canal'),
      budget(2, '2005-02-09', 'free parking in the market square'),
      budget(3, '2005-03-14', 'a second public swimming pool'),
      { title: 'Undated council note', body: 'The Riverton council approved new opening hours for the town hall, the mayor said at a meeting.', origin: 'typed' },
    ]);
  });
  afterAll(async () => {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from the article of the period the question names', async () => {
    const january = await kb.ask('What did the Riverton council approve in January?');
    expect(january.answer).toMatch(/bridge over the Riverton canal/);
    expect(january.sources.every((s) => s.title === 'Riverton council report no. 1')).toBe(true);
    expect(january.time).toMatchObject({ text: 'in January', from: day('2005-01-01'), to: day('2005-02-01') });
    expect(january.time?.widened).toBeUndefined();

    const february = await kb.ask('What did the Riverton council approve in February 2005?');
    expect(february.answer).toMatch(/free parking/);
  });

  it('"latest" and "last week" are read from the newest article, not the clock', async () => {
    const latest = await kb.ask('What is the latest the Riverton council approved?');
    expect(latest.answer).toMatch(/swimming pool/);
    expect(latest.sources.map((s) => s.title)).toEqual(['Riverton council report no. 3']);
    const lastWeek = await kb.ask('What did the Riverton council approve last week?');
    expect(lastWeek.answer).toMatch(/swimming pool/);
  });

  it('"latest" follows a newer article the moment it is added, and goes back when it is removed', async () => {
    // The dates are read from memory on every question about time: the change feed must refresh them.
    const [added] = (await kb.ingest([budget(4, '2005-04-20', 'a cycle lane along the river')])).written;
    try {
      const latest = await kb.ask('What is the latest the Riverton council approved?');
      expect(latest.answer).toMatch(/cycle lane/);
      expect(latest.sources.map((s) => s.title)).toEqual(['Riverton council report no. 4']);
    } finally {
      await kb.remove([added.id]);
    }
    expect((await kb.ask('What is the latest the Riverton council approved?')).answer).toMatch(/swimming pool/);
  });

  it('a period no article covers answers from all of them and says it widened', async () => {
    const r = await kb.ask('What did the Riverton council approve in 2019?');
    expect(r.answered).toBe(true);
    expect(r.time).toMatchObject({ text: 'in 2019', widened: true });
  });

  it("/summary latest: the articles of the last week before the newest, newest first, each by its lead sentence", async () => {
    const summaries = new SummaryService({ kb, embedder: new HashEmbedder() });
    const latest = await summarizeLatest(kb, summaries, { length: 'medium' });
    expect(latest.found).toBe(true);
    expect(latest.title).toBe("What's new 8 Mar 2005 – 14 Mar 2005");
    expect(latest.sources.map((s) => s.title)).toEqual(['Riverton council report no. 3']);
    expect(latest.text).toMatch(/\[1\]$/);

    const since = await summarizeLatest(kb, summaries, { since: 'February', length: 'medium' });
    expect(since.title).toBe("What's new since 1 Feb 2005");
    // Open-ended: the undated note counts from when it was added (today).
    expect(since.sources.map((s) => s.title)).toEqual(['Undated council note', 'Riverton council report no. 3', 'Riverton council report no. 2']);
    const until = await summarizeLatest(kb, summaries, { since: '1 January 2005', until: 'January', length: 'medium' });
    expect(until.sources.map((s) => s.title)).toEqual(['Riverton council report no. 1']);
    const none = await summarizeLatest(kb, summaries, { since: '2003', until: '2003' });
    expect(none).toMatchObject({ found: false, message: 'No article was published or added 1 Jan 2003 – 31 Dec 2003. Try a longer period with `since:`.' });
    await expect(summarizeLatest(kb, summaries, { since: 'whenever suits' })).rejects.toThrow(/could not read .* as a date/);
  });

  it('/summary topic since/until keeps to the articles of that period', async () => {
    const summaries = new SummaryService({ kb, embedder: new HashEmbedder() });
    const window = periodFromOptions('February', 'February', newestTime(await kb.listArticles()));
    const topic = await summaries.summarizeTopic('what the Riverton council approved', 'short', { window });
    expect(topic.found).toBe(true);
    expect(new Set(topic.sources.map((s) => s.title))).toEqual(new Set(['Riverton council report no. 2']));
  });

  it('without a time expression nothing changes: every period is answered from', async () => {
    const r = await kb.ask('What did the Riverton council approve?');
    expect(r.time).toBeUndefined();
    expect(new Set(r.sources.map((s) => s.articleId)).size).toBeGreaterThan(1);
  });

  it('a written answer is written from the passages ask read: those of the period, not a second search', async () => {
    const { askWritten } = await import('../src/core/llm/written-answer.js');
    const { LlmClient } = await import('../src/core/llm/client.js');
    const asked: AskResult[] = [];
    const askOnly = { ask: async (...args: Parameters<KnowledgeBase['ask']>) => asked[asked.push(await kb.ask(...args)) - 1] };
    // Nothing listens there: the model fails and the extractive answer stands, with the passages it read.
    const client = new LlmClient({ baseUrl: 'http://127.0.0.1:9/v1', model: 'none', timeoutMs: 1000, maxTokens: 10 });
    const result = await askWritten(askOnly, 'What did the Riverton council approve in January?', { client, log: () => undefined });
    expect(result.mode).not.toBe('written');
    expect(asked[0].time).toMatchObject({ from: '2005-01-01T00:00:00.000Z' });
    expect(asked[0].passages.length).toBeGreaterThan(0);
    expect(new Set(asked[0].passages.map((p) => p.articleTitle))).toEqual(new Set(['Riverton council report no. 1']));
  });

  it('sources show the publication date', async () => {
    const r = await kb.ask('What did the Riverton council approve in January?');
    expect(r.sources[0].date).toBe('2005-01-12');
    expect(sourceLabel(r.sources[0])).toBe('Riverton council report no. 1 · 12 Jan 2005 · ¶ 2');
    expect(formatAnswer(r)).toContain('[1] Riverton council report no. 1 · 12 Jan 2005 · ¶ 2');
    expect(formatAnswer(r)).toContain('(From articles published 1 Jan 2005 – 31 Jan 2005)');
    const embed = renderAnswer(r).embeds![0] as { footer?: { text: string } };
    expect(embed.footer?.text).toBe('From articles published 1 Jan 2005 – 31 Jan 2005');
    const widened = await kb.ask('What did the Riverton council approve in 2019?');
    expect((renderAnswer(widened).embeds![0] as { footer?: { text: string } }).footer?.text).toBe('No article from “in 2019” answers this; answered from all articles');
  });
});

describe('a file’s first dateline', () => {
  it('dates a .txt or .md article without a date in its metadata; a date mentioned later does not', async () => {
    const { loadBuffer } = await import('../src/core/load/index.js');
    const txt = await loadBuffer('talks.txt', Buffer.from('Talks resume in Doha\n\nDOHA, March 12, 2005 — Negotiators met again on Saturday.\n\nThey agreed to meet next week.'));
    expect(txt.date).toBe('2005-03-12');
    const alone = await loadBuffer('notes.md', Buffer.from('# Budget notes\n\nPublished: 3 January 2005 10:04 GMT\n\nThe council met.'));
    expect(alone.date).toBe('2005-01-03');
    const mention = await loadBuffer('profits.txt', Buffer.from('Profits up\n\nThe company said on 12 March 2005 that profits rose.'));
    expect(mention.date).toBeUndefined();
    const frontMatter = await loadBuffer('fm.md', Buffer.from('---\ntitle: X\ndate: 2004-06-01\n---\n\n12 March 2005\n\nText of the article.'));
    expect(frontMatter.date).toBe('2004-06-01');
  });
});

