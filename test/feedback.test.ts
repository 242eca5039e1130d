import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csvField, FeedbackStore, feedbackToCsv, feedbackToJson } from '../src/core/store/feedback.js';
import { exportFeedback, parseExportArgs, UsageError, type ExportOptions, type ExportSource } from '../scripts/feedback-export.js';
import { LocalStore } from '../src/core/store/local/index.js';
import type { KnowledgeStore, TenantKey } from '../src/core/store/port.js';
import { PostgresStore } from '../src/core/store/postgres/index.js';
import { startPglite } from './helpers/pglite-server.js';
import { scratchDatabase } from './helpers/scratch-database.js';

let dir: string;
let store: FeedbackStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'feedback-'));
  store = FeedbackStore.open(join(dir, 'catalog.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const tricky = {
  question: 'Where, exactly, were the "talks"?\nAnd when?',
  answer: '=They took place in Qatar, in March. [1]\r\n"Quoted" line',
};

function seed(): number {
  return store.recordQuestion({
    via: 'slash',
    userId: '111111111111111111',
    guildId: '222222222222222222',
    channelId: '333333333333333333',
    question: tricky.question,
    outcome: 'answered',
    answer: tricky.answer,
    sources: [
      { n: 1, passageId: 'hamas#4', articleId: 'hamas', title: 'Hamas', paragraph: 4, text: 'They met in Qatar.' },
      { n: 2, passageId: 'hamas#3', articleId: 'hamas', title: 'Hamas', paragraph: 3, text: 'Boehler pushed.' },
    ],
  });
}

describe('FeedbackStore', () => {
  it('stores one vote per user per answer, with question, answer, passage ids, user and time', () => {
    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'up', at: '2025-01-01T00:00:00.000Z' });
    store.recordFeedback({ questionId: id, userId: 'u2', guildId: '222222222222222222', vote: 'up', at: '2025-01-02T00:00:00.000Z' });
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'down', at: '2025-01-03T00:00:00.000Z' }); // changes u1's vote
    const rows = store.listFeedback();
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => [r.userId, r.vote])).toEqual([
      ['u2', 'up'],
      ['u1', 'down'],
    ]);
    expect(rows[0]).toMatchObject({ question: tricky.question, answer: tricky.answer, passageIds: ['hamas#4', 'hamas#3'], questionId: id });
    expect(store.listFeedback({ since: '2025-01-03T00:00:00.000Z' })).toHaveLength(1);
    expect(store.stats()).toMatchObject({ questions: 1, answered: 1, feedbackUp: 1, feedbackDown: 1 });
    expect(store.recordFeedback({ questionId: 9999, userId: 'u1', vote: 'up' })).toBeUndefined();
  });

  it('keeps conversation history per thread and forgets old texts but keeps counts', () => {
    const at = (d: string) => `${d}T00:00:00.000Z`;
    store.recordQuestion({ via: 'mention', userId: 'u', conversationId: 't1', question: 'first', outcome: 'answered', at: at('2020-01-01') });
    store.recordQuestion({ via: 'thread', userId: 'u', conversationId: 't1', question: 'second', outcome: 'no-answer' });
    store.recordQuestion({ via: 'thread', userId: 'u', conversationId: 't1', question: 'failed', outcome: 'error' });
    store.recordQuestion({ via: 'thread', userId: 'u', conversationId: 't2', question: 'other', outcome: 'answered' });
    store.recordQuestion({ via: 'thread', userId: 'u', conversationId: 't1', question: 'third', outcome: 'answered' });
    expect(store.recentQuestions('t1')).toEqual(['second', 'third']);
    expect(store.recentQuestions('t1', 5)).toEqual(['first', 'second', 'third']);
    expect(store.forgetOlderThan(30)).toBe(1);
    expect(store.recentQuestions('t1', 5)).toEqual(['second', 'third']);
    expect(store.stats()).toMatchObject({ questions: 5, answered: 3, unanswered: 1, failed: 1 });
  });
});

describe('export', () => {
  it('CSV quotes commas, quotes and newlines (RFC 4180) and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField(null)).toBe('');
    expect(csvField(12)).toBe('12');

    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'up', at: '2025-01-01T00:00:00.000Z' });
    const csv = feedbackToCsv(store.listFeedback());
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(1);
    expect(records[0]).toEqual({
      id: '1',
      created_at: '2025-01-01T00:00:00.000Z',
      vote: 'up',
      user_id: 'u1',
      guild_id: '222222222222222222',
      question_id: String(id),
      question: tricky.question,
      answer: `'${tricky.answer}`,
      passage_ids: 'hamas#4 hamas#3',
    });
    expect(feedbackToCsv([])).toBe('id,created_at,vote,user_id,guild_id,question_id,question,answer,passage_ids\r\n');
  });

  it('JSON keeps exact text and passage ids as an array', () => {
    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'down', at: '2025-01-01T00:00:00.000Z' });
    const parsed = JSON.parse(feedbackToJson(store.listFeedback()));
    expect(parsed).toEqual([
      {
        id: 1,
        created_at: '2025-01-01T00:00:00.000Z',
        vote: 'down',
        user_id: 'u1',
        guild_id: '222222222222222222',
        question_id: id,
        question: tricky.question,
        answer: tricky.answer,
        passage_ids: ['hamas#4', 'hamas#3'],
      },
    ]);
    expect(JSON.parse(feedbackToJson([]))).toEqual([]);
  });

  it('feedback:export: arguments, CSV to stdout, JSON to --out', async () => {
    expect(parseExportArgs([])).toEqual({ format: 'csv', out: undefined, since: undefined });
    expect(parseExportArgs(['--out', 'x.json'])).toMatchObject({ format: 'json', out: 'x.json' });
    expect(parseExportArgs(['--format', 'csv', '--out', 'x.json'])).toMatchObject({ format: 'csv' });
    expect(parseExportArgs(['--since', '2025-01-31'])).toMatchObject({ since: '2025-01-31T00:00:00.000Z' });
    expect(parseExportArgs(['--help'])).toBe('help');
    expect(() => parseExportArgs(['--format', 'xml'])).toThrow(UsageError);
    expect(() => parseExportArgs(['--out'])).toThrow(/needs a value/);

    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'up' });
    let stdout = '';
    let stderr = '';
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) };
    expect(await exportFeedback({ dataDir: dir }, { format: 'csv' }, io)).toBe(1);
    expect(parse(stdout, { columns: true })).toHaveLength(1);
    const out = join(dir, 'out.json');
    stdout = '';
    await exportFeedback({ dataDir: dir }, { format: 'json', out }, io);
    expect(stdout).toBe('');
    expect(stderr).toContain('Wrote 1 feedback row to');
    expect(JSON.parse(readFileSync(out, 'utf8'))[0]).toMatchObject({ vote: 'up', passage_ids: ['hamas#4', 'hamas#3'] });
    await expect(exportFeedback({ dataDir: join(dir, 'missing') }, { format: 'csv' }, io)).rejects.toThrow(/No data yet/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('the script runs as `npm run feedback:export` would', async () => {
    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'down' });
    const run = promisify(execFile);
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const { stdout } = await run(tsx, ['scripts/feedback-export.ts', '--format', 'json'], { env: { ...process.env, DATA_DIR: dir } });
    expect(JSON.parse(stdout)).toMatchObject([{ vote: 'down', user_id: 'u1', question: tricky.question }]);
  });
});

describe('FeedbackStore across servers', () => {
  it('a button of one server never reads or votes on a question of another', () => {
    const id = seed(); // asked in server 222…
    expect(store.getQuestion(id, '222222222222222222')?.question).toBe(tricky.question);
    expect(store.getQuestion(id, '999999999999999999')).toBeUndefined();
    expect(store.getQuestion(id, null)).toBeUndefined();
    expect(store.recordFeedback({ questionId: id, userId: 'u1', guildId: '999999999999999999', vote: 'down' })).toBeUndefined();
    expect(store.listFeedback()).toHaveLength(0);
    expect(store.stats('999999999999999999')).toMatchObject({ questions: 0, feedbackUp: 0 });
    expect(store.stats('222222222222222222')).toMatchObject({ questions: 1 });
  });

  it('forgetting old questions also blanks the copies kept with votes; purging a server deletes its rows', () => {
    const id = seed();
    store.recordFeedback({ questionId: id, userId: 'u1', guildId: '222222222222222222', vote: 'up' });
    const later = new Date(Date.now() + 91 * 86_400_000);
    expect(store.forgetOlderThan(90, later)).toBe(1);
    expect(store.getQuestion(id)?.question).toBeNull();
    const [vote] = store.listFeedback();
    expect(vote).toMatchObject({ vote: 'up', question: '', answer: '' });
    expect(store.forgetServer('222222222222222222')).toBe(1);
    expect(store.listFeedback()).toHaveLength(0);
    expect(store.getQuestion(id)).toBeUndefined();
  });
});

describe('feedback:export on PostgreSQL (DATABASE_URL)', () => {
  const A = '444444444444444444';
  const B = '555555555555555555';
  const realUrl = process.env.TEST_DATABASE_URL;
  const servers: { name: string; start: () => Promise<{ url: string; stop(): Promise<void> }> }[] = [
    { name: 'PGlite', start: startPglite },
    ...(realUrl ? [{ name: 'a real server', start: () => scratchDatabase(realUrl) }] : []),
  ];

  /** The same votes in any store: the shared knowledge base (asked in A, in B and in a DM) and A's own. */
  async function seedStore(kb: KnowledgeStore): Promise<void> {
    const vote = async (tenant: TenantKey, guildId: string | null, at: string, question: string) => {
      const t = await kb.open(tenant);
      try {
        const id = await t.questions.recordQuestion({ via: 'slash', userId: 'asker', guildId, question, outcome: 'answered', answer: tricky.answer, sources: [], at });
        await t.questions.recordFeedback({ questionId: id, userId: 'voter', guildId, vote: at < '2025-02' ? 'up' : 'down', at });
      } finally {
        await t.close();
      }
    };
    await vote(null, A, '2025-01-05T00:00:00.000Z', 'shared, from A, early');
    await vote(null, B, '2025-02-05T00:00:00.000Z', 'shared, from B');
    await vote(null, null, '2025-02-06T00:00:00.000Z', tricky.question);
    await vote(A, A, '2025-02-07T00:00:00.000Z', "A's own, late");
  }

  /** Ids are numbered per file locally and by one sequence in PostgreSQL; everything else must match. */
  async function exported(source: ExportSource, options: ExportOptions): Promise<{ text: string; rows: Record<string, unknown>[] }> {
    let text = '';
    await exportFeedback(source, options, { stdout: (t) => (text += t), stderr: () => undefined });
    const rows = options.format === 'json' ? (JSON.parse(text) as Record<string, unknown>[]) : (parse(text, { columns: true }) as Record<string, unknown>[]);
    return { text, rows: rows.map(({ id: _id, question_id: _q, ...rest }) => rest) };
  }

  describe.each(servers)('on $name', ({ start }) => {
    let server: { url: string; stop(): Promise<void> };
    let localDir: string;
    beforeAll(async () => {
      server = await start();
      localDir = mkdtempSync(join(tmpdir(), 'feedback-local-'));
      for (const kb of [new LocalStore({ dataDir: localDir }), await PostgresStore.connect({ url: server.url, listen: false })]) {
        try {
          await seedStore(kb);
        } finally {
          await kb.close();
        }
      }
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      rmSync(localDir, { recursive: true, force: true });
    });

    it('exports the same votes as from the files in DATA_DIR, with --guild and --since', async () => {
      const cases: ExportOptions[] = [
        { format: 'csv' },
        { format: 'json' },
        { format: 'json', guild: A },
        { format: 'csv', guild: A, since: '2025-02-01T00:00:00.000Z' },
        { format: 'json', guild: B },
      ];
      for (const options of cases) {
        const local = await exported({ dataDir: localDir }, options);
        const remote = await exported({ databaseUrl: server.url, dataDir: join(localDir, 'unused') }, options);
        expect(remote.rows, JSON.stringify(options)).toEqual(local.rows);
      }
      const guildA = await exported({ databaseUrl: server.url, dataDir: localDir }, { format: 'json', guild: A });
      expect(guildA.rows.map((r) => r.question)).toEqual(['shared, from A, early', "A's own, late"]);
      const csv = await exported({ databaseUrl: server.url, dataDir: localDir }, { format: 'csv' });
      expect(csv.rows.map((r) => [r.question, r.vote, r.guild_id])).toEqual([
        ['shared, from A, early', 'up', A],
        ['shared, from B', 'down', B],
        [tricky.question, 'down', ''],
      ]);
      // The formula guard and RFC 4180 quoting hold on this backend too.
      expect(csv.rows[2].answer).toBe(`'${tricky.answer}`);
      expect(existsSync(join(localDir, 'unused'))).toBe(false);
      // Exporting a server that has no knowledge base of its own creates none.
      const kb = await PostgresStore.connect({ url: server.url, listen: false });
      try {
        expect(await kb.tenants()).toEqual([A]);
      } finally {
        await kb.close();
      }
    });

    it('`npm run feedback:export` reads DATABASE_URL; an empty database has no data yet', async () => {
      const run = promisify(execFile);
      const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
      const env = { ...process.env, DATA_DIR: join(localDir, 'unused'), DATABASE_URL: server.url };
      const { stdout, stderr } = await run(tsx, ['scripts/feedback-export.ts', '--guild', A, '--format', 'json'], { env });
      expect((JSON.parse(stdout) as { question: string }[]).map((r) => r.question)).toEqual(['shared, from A, early', "A's own, late"]);
      expect(stderr).not.toMatch(/migrat/i);

      const empty = await start();
      try {
        await expect(run(tsx, ['scripts/feedback-export.ts'], { env: { ...env, DATABASE_URL: empty.url } })).rejects.toMatchObject({
          stderr: expect.stringMatching(/No data yet: the database holds no knowledge base/),
        });
      } finally {
        await empty.stop();
      }
    }, 60_000);
  });
});
