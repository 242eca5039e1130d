import nlp from 'compromise';
import type { AnswerType, ExpectedAnswer } from './question-type.js';
import { contentTokens } from '../text/tokens.js';

/**
 * The names, places, dates and amounts a sentence holds, found with compromise's tagger (a
 * maintained rule-and-lexicon English tagger, pure JavaScript, no model to download), so a
 * "who" question prefers the sentence that names a person and a "when" question the one with a date.
 */
export interface SentenceEntities {
  people: string[];
  places: string[];
  organizations: string[];
  dates: string[];
  values: string[];
  /** Capitalised names of any kind (#ProperNoun), for "which X" questions. */
  names: string[];
}

/** Changes when the tagger or what is kept of its output changes, so stored entities are not reused across versions. */
export const ENTITIES_VERSION = `compromise ${(nlp as unknown as { version: string }).version}; 1`;

// Parsing costs about a millisecond per sentence; the same top passages come back for related
// questions, so a bounded cache keeps repeated sentences free.
const CACHE_LIMIT = 4000;
const cache = new Map<string, SentenceEntities>();

const clean = (items: string[]) => items.map((s) => s.replace(/[.,;:!?'"“”‘’()]+$/g, '').replace(/^[("'“‘]+/, '').trim()).filter(Boolean);

export function sentenceEntities(sentence: string): SentenceEntities {
  const hit = cache.get(sentence);
  if (hit) return hit;
  const doc = nlp(sentence);
  const found: SentenceEntities = {
    people: clean(doc.match('#Person+').out('array') as string[]),
    places: clean(doc.match('#Place+').out('array') as string[]),
    organizations: clean(doc.match('#Organization+').out('array') as string[]),
    dates: clean(doc.match('(#Date|#Year|#Month|#WeekDay)+').out('array') as string[]),
    values: clean(doc.match('#Value+').out('array') as string[]),
    names: clean(doc.match('#ProperNoun+').out('array') as string[]),
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(sentence, found);
  return found;
}

/** Spans whose words are not all in the question: the new information a sentence brings. */
function newSpans(spans: string[], questionTerms: Set<string>): string[] {
  return spans.filter((span) => {
    const terms = contentTokens(span);
    return terms.length > 0 && terms.some((t) => !questionTerms.has(t));
  });
}

// Words that give a reason in news prose. They are grammar, not names, so a short list serves.
const REASON_CUES = /\b(because|due to|owing to|as a result|result of|thanks to|blamed?|blaming|after|since|so that|in order to|reason|caused?|led to|following|amid|in protest|to fight|to avoid|to allow|to help|to protect|to focus|to spend|so as to|concern(s|ed)? (about|over|that)|fears? (of|that|over)|said (it|he|she|they) (was|were|had|would)|attributed|driven by|hit by|hurt by|boosted by)\b/i;
const YESNO_CUES = /\b(not|no|never|will|would|has|have|had|agreed|refused|rejected|denied|confirmed|ruled out|decided|cleared)\b/i;

/**
 * How well a sentence holds the kind of answer the question expects (0–1): 1 when it names a
 * person for "who", a place for "where", a date for "when", an amount for "how many", a reason for
 * "why", or, for "which X", a name the question does not already contain.
 */
export function answerTypeMatch(
  expected: ExpectedAnswer,
  sentence: string,
  questionTerms: Set<string>,
  entitiesOf: (sentence: string) => SentenceEntities = sentenceEntities,
): number {
  const type: AnswerType = expected.type;
  if (type === 'other') return 0;
  if (type === 'reason') return REASON_CUES.test(sentence) ? 1 : 0;
  if (type === 'yesno') return YESNO_CUES.test(sentence) ? 0.5 : 0;
  const e = entitiesOf(sentence);
  switch (type) {
    case 'person': {
      if (newSpans(e.people, questionTerms).length > 0) return 1;
      return newSpans([...e.organizations, ...e.names], questionTerms).length > 0 ? 0.5 : 0;
    }
    case 'place':
      return newSpans(e.places, questionTerms).length > 0 ? 1 : newSpans(e.names, questionTerms).length > 0 ? 0.3 : 0;
    case 'date':
      return newSpans(e.dates, questionTerms).length > 0 ? 1 : /\b(1[89]|20)\d\d\b/.test(sentence) ? 0.7 : 0;
    case 'number':
      return newSpans(e.values, questionTerms).length > 0 ? 1 : /\d/.test(sentence) ? 0.5 : 0;
    case 'entity':
      return newSpans([...e.names, ...e.organizations, ...e.people, ...e.places], questionTerms).length > 0 ? 1 : 0;
  }
  return 0;
}
