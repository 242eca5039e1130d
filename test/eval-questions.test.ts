import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatQuestionsFigures, readQuestionFile, runQuestionsEval } from '../src/cli/eval-questions.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

let root: string;
let corpus: string;
let questions: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'eval-questions-'));
  corpus = join(root, 'corpus');
  mkdirSync(join(corpus, 'sport'), { recursive: true });
  mkdirSync(join(corpus, 'business'), { recursive: true });
  writeFileSync(
    join(corpus, 'sport', '001.txt'),
    'Rovers win the cup\n\nRovers beat United 2-1 in the cup final at Wembley on Saturday.\n\nThe winning goal came from striker Sam Jones in the last minute.\n',
  );
  writeFileSync(
    join(corpus, 'business', '002.txt'),
    'Brewer buys stake in Indian firm\n\nThe brewer is buying a 37.5% stake in United Breweries of India.\n\nThe deal values the Indian firm at 500m dollars.\n',
  );
  questions = join(root, 'questions.json');
  writeFileSync(
    questions,
    JSON.stringify([
      { q: 'who scored the winning goal for Rovers in the cup final?', file: 'sport/001.txt', answer: 'Sam Jones', kind: 'who' },
      { q: 'how big a stake is the brewer buying in United Breweries?', file: 'business/002.txt', answer: '37\\.5%', kind: 'number' },
      { q: 'when did apple bring out the first iphone?', kind: 'unanswerable' },
    ]),
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('npm run eval -- --questions FILE --corpus DIR', () => {
  it('asks every question against the whole corpus and reports article ranks, answers and refusals', async () => {
    const embedder = new HashEmbedder(64);
    const dump = join(root, 'dump.jsonl');
    const result = await runQuestionsEval(corpus, [questions], { embedder, indexDir: join(root, 'index'), dump, log: () => {} });
    const [file] = result.files;
    expect(file).toMatchObject({ questions: 3, answerable: 2, unanswerable: 1 });
    expect(file.hybrid).toEqual({ first: 1, top3: 1 });
    expect(file.answerAccuracy).toBe(1);
    expect(file.answered).toBe(1);
    expect(file.wronglyAnswered).toBe(0);
    expect(file.kinds.map((k) => k.kind)).toEqual(['number', 'unanswerable', 'who']);
    const lines = formatQuestionsFigures(result).join('\n');
    expect(lines).toContain('| hybrid | 1.000 | 1.000 |');
    expect(lines).toContain('unanswerable questions wrongly answered: 0.000');
    // Perfect figures meet every bar the eval holds them against.
    expect(lines).toContain('targets, 4 of 4 met: right article in top 3 1.000 (≥ 0.90) met · answer accuracy 1.000 (≥ 0.75) met');
    const dumped = readFileSync(dump, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dumped[0]).toMatchObject({ q: 'who scored the winning goal for Rovers in the cup final?', correct: true });
    expect(dumped[0].answer).toContain('Sam Jones');
  });

  it('says how often the fact was in the passages the answer is drawn from, so retrieval and answer losses can be told apart', async () => {
    const embedder = new HashEmbedder(64);
    const partly = join(root, 'partly.json');
    writeFileSync(
      partly,
      JSON.stringify([
        { q: 'who scored the winning goal for Rovers in the cup final?', file: 'sport/001.txt', answer: 'Sam Jones', kind: 'who' },
        // The article never names the coach: no answer step could find it.
        { q: 'who coaches Rovers?', file: 'sport/001.txt', answer: 'Alex Ferguson', kind: 'who' },
      ]),
    );
    const result = await runQuestionsEval(corpus, [partly], { embedder, indexDir: join(root, 'index'), log: () => {} });
    const [file] = result.files;
    expect(file.factInPassages).toBe(0.5);
    expect(file.answerAccuracy).toBeLessThanOrEqual(0.5);
    expect(file.kinds).toEqual([expect.objectContaining({ kind: 'who', factInPassages: 0.5 })]);
    expect(formatQuestionsFigures(result).join('\n')).toMatch(/\| ask \| 0\.500 \|/);
    expect(file.targets).toContainEqual({ measure: 'answer accuracy', value: file.answerAccuracy, target: 0.75, atLeast: true, met: false });
    expect(formatQuestionsFigures(result).join('\n')).toMatch(/answer accuracy 0\.\d{3} \(≥ 0\.75\) NOT met/);
  });

  it('ranks articles as ask found them when a period in the question selected nothing and ask searched everything', async () => {
    const embedder = new HashEmbedder(64);
    const mixed = join(root, 'mixed');
    mkdirSync(join(mixed, 'sport'), { recursive: true });
    writeFileSync(join(mixed, 'sport', '001.txt'), readFileSync(join(corpus, 'sport', '001.txt')));
    // Only this article has a date, and it is not in 2004: "in 2004" selects nothing and ask widens to every article.
    writeFileSync(join(mixed, 'sport', '002.md'), '---\ntitle: Harriers open a new stand\ndate: 2005-03-01\n---\n\nThe Harriers opened their new stand on Tuesday.\n');
    const dated = join(root, 'dated.json');
    writeFileSync(dated, JSON.stringify([{ q: 'who scored the winning goal for Rovers in the cup final in 2004?', file: 'sport/001.txt', answer: 'Sam Jones', kind: 'who' }]));
    const result = await runQuestionsEval(mixed, [dated], { embedder, indexDir: join(root, 'index-mixed'), log: () => {} });
    expect(result.files[0].answerAccuracy).toBe(1);
    expect(result.files[0].hybrid).toEqual({ first: 1, top3: 1 });
  });

  it('reuses the index folder: a second run over an unchanged corpus embeds no passage', async () => {
    const embedder = new HashEmbedder(64);
    const indexDir = join(root, 'index-reuse');
    const logs: string[] = [];
    await runQuestionsEval(corpus, [questions], { embedder, indexDir, log: (l) => logs.push(l) });
    await runQuestionsEval(corpus, [questions], { embedder, indexDir, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(/0 unchanged\), [1-9]\d* passages embedded/);
    expect(logs[1]).toMatch(/2 unchanged\), 0 passages embedded/);
  });

  it('gives the articles dates from a file (re-dating embeds nothing) and asks with time read and not read', async () => {
    const embedder = new HashEmbedder(64);
    const indexDir = join(root, 'index-dated');
    const dated = join(root, 'dated-corpus');
    mkdirSync(join(dated, 'sport'), { recursive: true });
    writeFileSync(join(dated, 'sport', '010.txt'), 'Rovers draw with United\n\nRovers and United drew 1-1 in the league, with the Rovers goal from Sam Jones.\n');
    writeFileSync(join(dated, 'sport', '011.txt'), 'Rovers thrash United\n\nRovers beat United 4-0 in the league, with a hat-trick from Alan Price.\n');
    const datedQuestions = join(root, 'dated.json');
    writeFileSync(datedQuestions, JSON.stringify([{ q: 'what was the score between Rovers and United in March 2005?', file: 'sport/011.txt', answer: '4-0', kind: 'number' }]));
    const logs: string[] = [];
    await runQuestionsEval(dated, [datedQuestions], { embedder, indexDir, log: (l) => logs.push(l) });
    const dump = join(root, 'dated-dump.jsonl');
    const articleDates = { 'sport/010.txt': '2004-10-02', 'sport/011.txt': '2005-03-12' };
    const result = await runQuestionsEval(dated, [datedQuestions], { embedder, indexDir, articleDates, time: 'both', dump, log: (l) => logs.push(l) });
    expect(logs[1]).toMatch(/\(0 unchanged\), 0 passages embedded/);
    expect(result.files.map((f) => [f.time, f.periodsRead])).toEqual([['on', 1], ['off', undefined]]);
    expect(result.files[0].hybrid).toEqual({ first: 1, top3: 1 });
    expect(result.files[0].answerAccuracy).toBe(1);
    const lines = formatQuestionsFigures(result).join('\n');
    expect(lines).toContain('time in questions read (a period in 1)');
    expect(lines).toContain('time in questions NOT read');
    const dumped = readFileSync(dump, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dumped.map((d) => d.time)).toEqual(['on', 'off']);
    expect(dumped[0].hybridArticles[0]).toBe('sport/011.txt');
  });

  it('rejects a question file without questions in the expected shape', () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ q: 'who?', file: 'sport/001.txt' }]));
    expect(() => readQuestionFile(bad)).toThrow(/needs both "file" and "answer"/);
  });
});
