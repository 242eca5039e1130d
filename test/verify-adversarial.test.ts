/**
 * Issue 12, item 10: adversarial model replies (fabricated numbers, wrong names, swapped
 * citations, claims smuggled next to an "absence" phrase, unsupported elaboration) must not pass
 * the verifier; supported replies still must.
 */
import { describe, expect, it } from 'vitest';
import { verifyAnswer } from '../src/core/llm/verify.js';
import { ADVERSARIAL, EXCERPTS, stopped } from './fixtures/adversarial-replies.js';

/** Replies the passages do support: they must survive unchanged in substance. */
const SUPPORTED: { reply: string; keeps: string }[] = [
  { reply: 'The talks took place in Qatar in March [1].', keeps: 'Qatar in March' },
  { reply: 'Rovers won the cup final 2-1 at Wembley [4].', keeps: '2-1 at Wembley' },
  { reply: 'The harbour works will cost 12 million pounds and finish in 2027 [5].', keeps: '12 million pounds' },
  { reply: 'Adam Boehler, a senior U.S. official, pushed for an agreement [2].', keeps: 'Adam Boehler' },
  { reply: 'Tariffs and Iranian diplomacy overshadowed much of the dialogue [3].', keeps: 'Iranian diplomacy' },
  { reply: 'Qatar hosted the talks [1]. Boehler pushed for an agreement [2].', keeps: 'Boehler pushed' },
  { reply: 'About 84,000 fans saw Rovers win the final [4].', keeps: '84,000 fans' },
  { reply: 'The talks took place in Qatar [1], but the passages do not mention the exact date.', keeps: 'the exact date' },
  { reply: 'The talks were in Qatar [1]. Their cost is not in the knowledge base.', keeps: 'Their cost is not in the knowledge base' },
];

describe('the verifier against adversarial replies', () => {
  it.each(ADVERSARIAL.map((a) => [a.kind, a.reply, a]))('stops a %s: %s', (_kind, _reply, a) => {
    expect(stopped(a as (typeof ADVERSARIAL)[number])).toBe(true);
  });

  it(`stops every reply of the set (${ADVERSARIAL.length})`, () => {
    expect(ADVERSARIAL.filter((a) => !stopped(a)).map((a) => a.reply)).toEqual([]);
  });

  it.each(SUPPORTED.map((s) => [s.reply, s.keeps]))('keeps a supported reply: %s', (reply, keeps) => {
    const v = verifyAnswer(reply, EXCERPTS);
    expect(v.kind).toBe('answer');
    expect(v.kind === 'answer' && v.text).toContain(keeps);
  });

  it('drops only the unsupported sentence of a mixed reply', () => {
    const v = verifyAnswer('The talks took place in Qatar in March [1]. The harbour works will cost 15 million pounds [5].', EXCERPTS);
    expect(v).toMatchObject({ kind: 'answer', text: 'The talks took place in Qatar in March [1].', droppedSentences: ['The harbour works will cost 15 million pounds.'] });
  });
});
