import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { composeAnswer, rankSentences } from '../src/core/answer.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { answerTypeMatch } from '../src/core/answer/entities.js';
import { expectedAnswer } from '../src/core/answer/question-type.js';
import { answerProbability, REFUSAL_MODEL, type AnswerSignals } from '../src/core/answer/score.js';
import { SqliteSentenceCache } from '../src/core/store/local/tables.js';
import { SentenceVectorCache } from '../src/core/store/sentence-vectors.js';
import { contentTokens } from '../src/core/text/tokens.js';
import type { ScoredPassage } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function passage(text: string, score: number, title = 'Talks in the Gulf', id = 'a'): ScoredPassage {
  return {
    passage: { id: `${id}#${score}`, articleId: id, paragraph: 1, text, hash: String(score) },
    articleTitle: title,
    score,
    dense: 0.5,
    lexical: 1,
  };
}

describe('expectedAnswer: what kind of answer a question asks for', () => {
  it.each([
    ['who runs the new gaming studio?', 'person'],
    ['Which country hosted the meeting?', 'place'],
    ['where is the factory going to be built', 'place'],
    ['by what year does the government want broadband everywhere?', 'date'],
    ['when will the shop open?', 'date'],
    ['how big a slice of the brewer is the firm buying?', 'number'],
    ['what percentage of staff went on strike?', 'number'],
    ['why did the chairman step down?', 'reason'],
    ['what do the unions blame the closures on?', 'reason'],
    ['which studio made the film?', 'entity'],
    ['did the minister resign?', 'yesno'],
    ['what happened at the summit?', 'other'],
  ])('%s → %s', (question, type) => {
    expect(expectedAnswer(question).type).toBe(type);
  });
});

describe('answerTypeMatch: the sentence holds the kind of answer asked for', () => {
  const terms = (q: string) => new Set(contentTokens(q));

  it('prefers a sentence naming a person for "who", but not a person the question already names', () => {
    const q = 'who replaced Paul Smith as coach?';
    const expected = expectedAnswer(q);
    expect(answerTypeMatch(expected, 'The club appointed Maria Lopez as head coach on Monday.', terms(q))).toBe(1);
    expect(answerTypeMatch(expected, 'Paul Smith left the club after a poor season.', terms(q))).toBeLessThan(1);
    expect(answerTypeMatch(expected, 'The decision was made after a poor season.', terms(q))).toBe(0);
  });

  it('finds places, dates and amounts', () => {
    expect(answerTypeMatch(expectedAnswer('where did they meet?'), 'They met in Qatar in March.', terms('where did they meet'))).toBe(1);
    expect(answerTypeMatch(expectedAnswer('when did they meet?'), 'They met in Qatar in March.', terms('when did they meet'))).toBe(1);
    expect(answerTypeMatch(expectedAnswer('how many jobs will go?'), 'The firm will cut 870 jobs.', terms('how many jobs will go'))).toBe(1);
    expect(answerTypeMatch(expectedAnswer('how many jobs will go?'), 'The firm will cut jobs.', terms('how many jobs will go'))).toBe(0);
    expect(answerTypeMatch(expectedAnswer('why did he quit?'), 'He quit because he was ill.', terms('why did he quit'))).toBe(1);
  });
});

describe('rankSentences and composeAnswer on passages', () => {
  const passages = [
    passage('The administration wanted the hostages home. Officials in the administration said the hostages were a priority.', 2),
    passage('The envoy, Adam Boehler, led the talks for Washington. They took place in Qatar in March.', 1.6),
  ];

  it('answers "who" with the sentence that names the person, not the one repeating the question’s words', async () => {
    const q = 'Which official from the administration led the talks about the hostages?';
    const { sentences } = await rankSentences(q, passages);
    expect(sentences[0].text).toContain('Adam Boehler');
    const composed = await composeAnswer(q, passages, {}, { refusal: { ...REFUSAL_MODEL, threshold: 0 } });
    expect(composed.answer.startsWith('The envoy, Adam Boehler')).toBe(true);
    expect(composed.answer).toMatch(/\[\d\]/);
  });

  it('uses sentence vectors when given: the sentence closest in meaning wins among equals in words', async () => {
    const embedder = new HashEmbedder(64);
    const q = 'In what place were the negotiations held?';
    const questionVector = (await embedder.embed(['negotiations place held']))[0];
    const withVectors = await rankSentences(q, passages, {
      questionVector,
      // "They took place in Qatar" is made the closest sentence in meaning.
      sentenceVectors: async (texts) => texts.map((t) => (t.includes('Qatar') ? questionVector : embedder.vector('unrelated words entirely'))),
    });
    expect(withVectors.sentences[0].text).toContain('Qatar');
    expect(withVectors.sentences[0].dense).toBeGreaterThan(0.99);
  });

  it('refuses when the passages do not speak of the question at all', async () => {
    const composed = await composeAnswer('How many goals did the striker score for Arsenal last season?', passages);
    expect(composed.answered).toBe(false);
    expect(composed.sources).toEqual([]);
  });

  it('the refusal probability rises with coverage and similarity', () => {
    const low: AnswerSignals = { passageDense: 0.1, sentenceDense: 0.1, sentenceCoverage: 0, passageCoverage: 0, contextCoverage: 0, missingTerm: 1, corpusSize: 1, type: 0, typed: 1, margin: 0.1 };
    const high: AnswerSignals = { ...low, missingTerm: 0, passageDense: 0.6, sentenceDense: 0.6, sentenceCoverage: 0.8, passageCoverage: 0.9, contextCoverage: 1, type: 1 };
    expect(answerProbability(low)).toBeLessThan(REFUSAL_MODEL.threshold);
    expect(answerProbability(high)).toBeGreaterThan(REFUSAL_MODEL.threshold);
  });
});

describe('SentenceVectorCache', () => {
  it('embeds a sentence once, keeps it across restarts, and keys it by model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sentence-cache-'));
    dirs.push(dir);
    const file = join(dir, 'c.sqlite');
    const embedder = new HashEmbedder(32, 'model-a');
    let db = new Database(file);
    let cache = new SentenceVectorCache(new SqliteSentenceCache(db), embedder);
    const first = await cache.vectors(['The talks were in Qatar.', 'Adam Boehler led them.', 'The talks were in Qatar.']);
    expect(embedder.textsEmbedded).toBe(2);
    expect(first[0]).toEqual(first[2]);
    await cache.vectors(['Adam Boehler led them.']);
    expect(embedder.textsEmbedded).toBe(2);
    db.close();

    db = new Database(file);
    cache = new SentenceVectorCache(new SqliteSentenceCache(db), embedder);
    const again = await cache.vectors(['The talks were in Qatar.']);
    expect(embedder.textsEmbedded).toBe(2);
    expect(Array.from(again[0])).toEqual(Array.from(first[0]));

    // Entities are kept too: tagged once (written in the background), then read back by a new
    // cache over the same database with the vectors of the same sentences.
    const sentence = 'Adam Boehler led them in Doha.';
    expect(cache.entities(sentence).people).toEqual(['Adam Boehler']);
    await cache.flushEntities();
    expect((db.prepare('SELECT COUNT(*) AS n FROM sentence_entities').get() as { n: number }).n).toBe(1);
    // Marked in the database, so reading it back is told apart from tagging it again.
    const row = db.prepare('SELECT hash, entities FROM sentence_entities').get() as { hash: string; entities: string };
    db.prepare('UPDATE sentence_entities SET entities = ? WHERE hash = ?').run(JSON.stringify({ ...JSON.parse(row.entities), places: ['Stored'] }), row.hash);
    const fresh = new SentenceVectorCache(new SqliteSentenceCache(db), embedder);
    await fresh.vectors([sentence]);
    expect(fresh.entities(sentence).places).toEqual(['Stored']);

    const other = new HashEmbedder(32, 'model-b');
    await new SentenceVectorCache(new SqliteSentenceCache(db), other).vectors(['The talks were in Qatar.']);
    expect(other.textsEmbedded).toBe(1);
    db.close();
  });
});

describe('sentence vectors at ingest', () => {
  const article = {
    title: 'Rovers win the cup',
    body: 'Rovers beat United 2-1 in the final on Saturday. The winning goal came from Sam Jones in the last minute.\n\nThe team will parade the trophy through the town on Monday.',
    origin: 'rovers.md',
  };

  it('with sentenceVectorsAtIngest a question embeds only itself; without, the first answer embeds the sentences it reads', async () => {
    for (const atIngest of [true, false]) {
      const dir = mkdtempSync(join(tmpdir(), 'sentence-ingest-'));
      dirs.push(dir);
      const embedder = new HashEmbedder(64);
      const kb = await KnowledgeBase.open({ dataDir: dir, embedder, sentenceVectorsAtIngest: atIngest });
      await kb.ingest([article]);
      const before = embedder.textsEmbedded;
      const result = await kb.ask('Who scored the winning goal for Rovers?');
      expect(result.answer).toContain('Sam Jones');
      if (atIngest) expect(embedder.textsEmbedded - before).toBe(1);
      else expect(embedder.textsEmbedded - before).toBeGreaterThan(1);
      await kb.close();
    }
  });
});
