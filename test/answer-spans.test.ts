/**
 * The reader's span from the core to what a member sees, without a model: the composer's use of a
 * Reader (whole words, inside the quoted sentence, only when sure), ask's use of a Reranker, the
 * bold in the Discord embed (escaped, within the limits, nothing pinged) and in the terminal.
 */
import { describe, expect, it } from 'vitest';
import { quoteWithBold, renderAnswer, LIMITS } from '../src/bot/render.js';
import { formatAnswerForTerminal } from '../src/cli/format.js';
import type { Reader, Reranker } from '../src/core/answer-models.js';
import { composeAnswer, wholeWords, type ComposeOptions } from '../src/core/answer.js';
import { REFUSAL_MODEL } from '../src/core/answer/score.js';
import { rerankPassages } from '../src/core/ask.js';
import { locateAnswer } from '../src/core/embed/transformers-answer-models.js';
import type { AskResult, ScoredPassage } from '../src/core/types.js';

const passage = (id: string, text: string, score: number): ScoredPassage => ({
  passage: { id, articleId: id.split('#')[0], paragraph: 1, text, hash: id },
  articleTitle: 'Hostage talks',
  score,
});

/** A reader that answers with the first occurrence of `word`, as a model would with its probability. */
const readerOf = (word: string, score = 0.9): Reader => ({
  model: 'test/reader',
  read: async (_q, context) => {
    const at = context.toLowerCase().indexOf(word.toLowerCase());
    return at < 0 ? null : { start: at, end: at + word.length, score };
  },
});

describe('locateAnswer (Transformers.js gives the answer as decoded text)', () => {
  it('finds it ignoring case and the spacing decoding puts around punctuation', () => {
    const context = 'Officials of the U.S. met in Doha, Qatar.';
    expect(locateAnswer(context, 'qatar')).toEqual({ start: 35, end: 40 });
    const us = locateAnswer(context, 'u. s.');
    expect(context.slice(us!.start, us!.end)).toBe('U.S.');
    expect(locateAnswer(context, 'doha , qatar')).toEqual({ start: 29, end: 40 });
    expect(locateAnswer(context, 'paris')).toBeNull();
    expect(locateAnswer(context, '  ')).toBeNull();
  });
});

describe('wholeWords', () => {
  it('widens a span to whole words and drops the punctuation around them', () => {
    const text = 'The talks took place in "Qatar." in March';
    const at = text.indexOf('Qat');
    expect(text.slice(...Object.values(wholeWords(text, { start: at + 1, end: at + 3 })!))).toBe('Qatar');
    expect(wholeWords('ping @everyone now', { start: 6, end: 14 })).toEqual({ start: 5, end: 14 }); // the @ is part of the word
    expect(wholeWords('a ... b', { start: 2, end: 5 })).toBeNull();
  });
});

describe('composeAnswer with a reader', () => {
  const ranked = [
    passage('talks#1', 'These unprecedented talks, which took place in Qatar in March, marked a departure.', 1),
    passage('talks#2', 'Adam Boehler pushed for an agreement with Hamas.', 0.5),
  ];
  const question = 'Where did the talks take place?';
  // These tests are about the span, not the answer/refuse decision: always answer.
  const answering: ComposeOptions = { refusal: { ...REFUSAL_MODEL, threshold: 0 } };
  const withReader = (reader: Reader): ComposeOptions => ({ ...answering, models: { reader } });

  it('marks the span inside the leading quoted sentence; the text is the same as without a reader', async () => {
    const plain = await composeAnswer(question, ranked, {}, answering);
    const read = await composeAnswer(question, ranked, {}, withReader(readerOf('qatar')));
    expect(read.answered).toBe(true);
    expect(read.answer).toBe(plain.answer);
    expect(plain.highlight).toBeUndefined();
    expect(read.answer.slice(read.highlight!.start, read.highlight!.end)).toBe('Qatar');
  });

  it('marks nothing when the reader is unsure, fails, finds nothing, or would mark the whole sentence', async () => {
    const unsure = await composeAnswer(question, ranked, {}, withReader(readerOf('qatar', 0.05)));
    expect(unsure.highlight).toBeUndefined();
    const failing: Reader = { model: 'x', read: async () => Promise.reject(new Error('worker gone')) };
    const failed = await composeAnswer(question, ranked, {}, withReader(failing));
    expect(failed.answered).toBe(true);
    expect(failed.highlight).toBeUndefined();
    expect((await composeAnswer(question, ranked, {}, withReader(readerOf('paris')))).highlight).toBeUndefined();
    const whole: Reader = { model: 'x', read: async (_q, c) => ({ start: 0, end: c.length, score: 1 }) };
    expect((await composeAnswer(question, ranked, {}, withReader(whole))).highlight).toBeUndefined();
  });
});

describe('rerankPassages', () => {
  const fused = [passage('a#1', 'first by fusion', 3), passage('b#1', 'second by fusion', 2), passage('c#1', 'third by fusion', 1)];

  it("orders by the model's scores, ties in fused order, keeping the fused scores", async () => {
    const reranker: Reranker = { model: 'x', score: async () => [0, 5, 0] };
    const out = await rerankPassages(reranker, 'q', fused);
    expect(out.map((p) => p.passage.id)).toEqual(['b#1', 'a#1', 'c#1']);
    expect(out.map((p) => [p.score, p.rerank])).toEqual([[2, 5], [3, 0], [1, 0]]);
  });

  it('keeps the fused order when the model fails or answers with the wrong number of scores', async () => {
    expect(await rerankPassages({ model: 'x', score: async () => Promise.reject(new Error('gone')) }, 'q', fused)).toBe(fused);
    expect(await rerankPassages({ model: 'x', score: async () => [1] }, 'q', fused)).toBe(fused);
    expect(await rerankPassages({ model: 'x', score: async () => [1, Number.NaN, 2] }, 'q', fused)).toBe(fused);
  });
});

describe('the span in bold', () => {
  const answer = 'The *talks* took place in @everyone_Qatar [1] and <@123> said **so** [2]';
  const start = answer.indexOf('@everyone_Qatar');
  const highlight = { start, end: start + '@everyone_Qatar'.length };

  it('Discord: escapes markdown in every piece, neutralises mentions, exactly one bold', () => {
    const text = quoteWithBold(answer, highlight, LIMITS.embedDescription);
    expect(text).toBe('The \\*talks\\* took place in **@\u200beveryone\\_Qatar** [1] and <@\u200b123> said \\*\\*so\\*\\* [2]');
    const embed = renderAnswer({ question: 'Where?', answer, sources: [], highlight }).embeds![0];
    expect(embed.description).toBe(text);
  });

  it('Discord: keeps the limit, and drops the bold rather than cut it', () => {
    const long = `Qatar ${'word '.repeat(1000)}`;
    const cut = quoteWithBold(long, { start: 0, end: 5 }, 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut.startsWith('**Qatar** word')).toBe(true);
    expect(cut.endsWith('…')).toBe(true);
    const late = { start: long.length - 10, end: long.length - 6 };
    const noBold = quoteWithBold(long, late, 100);
    expect(noBold).not.toContain('**');
    expect(noBold.length).toBeLessThanOrEqual(100);
    expect(quoteWithBold('abc', { start: 2, end: 9 }, 100)).toBe('abc'); // a span outside the text is ignored
  });

  it('terminal: ANSI bold on a TTY only, and quoted escape characters cannot restyle it', () => {
    const result: AskResult = {
      question: 'Where?',
      answered: true,
      answer: 'Talks in \x1b[31mQatar [1]',
      highlight: { start: 14, end: 19 },
      passages: [],
      sources: [],
      suggestions: [],
      timings: { embed: 0, search: 0, compose: 0, total: 0 },
    };
    expect(formatAnswerForTerminal(result, { ansi: true })).toBe('Talks in [31m\x1b[1mQatar\x1b[22m [1]');
    expect(formatAnswerForTerminal(result)).toBe(result.answer);
  });
});
