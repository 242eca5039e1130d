import { describe, expect, it } from 'vitest';
import { splitSentences } from '../src/core/text/sentences.js';

describe('splitSentences', () => {
  it('splits plain sentences and keeps terminators', () => {
    expect(splitSentences('The talks failed. Hamas refused! Why? Nobody knows.')).toEqual([
      'The talks failed.', 'Hamas refused!', 'Why?', 'Nobody knows.',
    ]);
  });
  it('does not split after titles, initials or inside decimals', () => {
    expect(splitSentences('Mr. Boehler met Dr. Smith at 3.5 p.m. on Friday. J. K. Rowling was not there.')).toEqual([
      'Mr. Boehler met Dr. Smith at 3.5 p.m. on Friday.', 'J. K. Rowling was not there.',
    ]);
  });
  it('splits after a single capital letter when a sentence opener follows', () => {
    expect(splitSentences('He was diagnosed with hepatitis A. The diocese says he is resting. George W. Bush and J. A. Smith met.')).toEqual([
      'He was diagnosed with hepatitis A.', 'The diocese says he is resting.', 'George W. Bush and J. A. Smith met.',
    ]);
  });
  it('keeps "U.S." inside a sentence but splits when it ends one', () => {
    expect(splitSentences('The U.S. envoy met Hamas. Talks moved to the U.S. The next day they ended.')).toEqual([
      'The U.S. envoy met Hamas.', 'Talks moved to the U.S.', 'The next day they ended.',
    ]);
  });
  it('keeps closing quotes with their sentence', () => {
    expect(splitSentences('"We are close," he said. "Very close." Then silence.')).toEqual([
      '"We are close," he said.', '"Very close."', 'Then silence.',
    ]);
  });
  it('handles money, years and lowercase continuations', () => {
    expect(splitSentences('Profits rose to $1.2bn in 2004. Sales fell, e.g. in Europe. Shares rose 5.5%.')).toEqual([
      'Profits rose to $1.2bn in 2004.', 'Sales fell, e.g. in Europe.', 'Shares rose 5.5%.',
    ]);
  });
  it('returns nothing for blank text and the text itself when there is no terminator', () => {
    expect(splitSentences('  \n ')).toEqual([]);
    expect(splitSentences('April 10, 2025')).toEqual(['April 10, 2025']);
  });
});

describe('splitSentences in other scripts (issue 12, item 5)', () => {
  it('ends a sentence at the full-width terminators 。！？ with no space after them', () => {
    expect(splitSentences('会谈在卡塔尔举行。哈马斯拒绝了！为什么？没人知道。')).toEqual(['会谈在卡塔尔举行。', '哈马斯拒绝了！', '为什么？', '没人知道。']);
    expect(splitSentences('「会谈在卡塔尔举行。」他说。')).toEqual(['「会谈在卡塔尔举行。」', '他说。']);
  });

  it('ends a sentence at the Devanagari danda and the Arabic question mark', () => {
    expect(splitSentences('वार्ता कतर में हुई। हमास ने इनकार किया।')).toEqual(['वार्ता कतर में हुई।', 'हमास ने इनकार किया।']);
    expect(splitSentences('أين جرت المحادثات؟ في قطر.')).toEqual(['أين جرت المحادثات؟', 'في قطر.']);
  });
});
