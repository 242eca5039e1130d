import { stemmer } from 'stemmer';

/**
 * Word tokens for lexical matching (BM25, sentence overlap, ROUGE): lower-cased, split on
 * anything that is not a letter or digit, Porter-stemmed. Stop words are dropped by
 * `contentTokens` only, so ROUGE can count every word.
 */
export function wordTokens(text: string): string[] {
  const words = text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').match(/[\p{L}\p{N}]+/gu);
  return words ?? [];
}

export function stem(word: string): string {
  return stemmer(word);
}

export const STOP_WORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below
  between both but by can could did do does doing down during each few for from further had has have
  having he her here hers herself him himself his how i if in into is it its itself just me more most
  my myself no nor not now of off on once only or other our ours ourselves out over own same she should
  so some such than that the their theirs them themselves then there these they this those through to
  too under until up very was we were what when where which while who whom why will with would you
  your yours yourself yourselves also s t said says did`.split(/\s+/),
);

/** Stemmed tokens without stop words: what carries meaning for matching a question to text. */
export function contentTokens(text: string): string[] {
  const out: string[] = [];
  for (const w of wordTokens(text)) if (!STOP_WORDS.has(w)) out.push(stemmer(w));
  return out;
}
