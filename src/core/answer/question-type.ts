/**
 * What kind of answer a question expects, read from its wording. Pure and fast (a few regexes):
 * it runs on every question, before anything is parsed with the NLP library.
 */
export type AnswerType = 'person' | 'place' | 'date' | 'number' | 'reason' | 'entity' | 'yesno' | 'other';

export interface ExpectedAnswer {
  type: AnswerType;
  /** For "which X" / "what X" questions: the noun X ("company", "team"), which the answer names. */
  noun?: string;
}

const PLACE_NOUNS = /^(country|countries|city|cities|town|towns|place|places|venue|venues|state|states|nation|nations|region|regions|capital|stadium|stadiums|ground|continent|island|village|county|area|location|street|airport|port|province)$/;
const DATE_NOUNS = /^(year|years|date|day|days|month|months|time|season|decade|century|week|weekend)$/;
const NUMBER_NOUNS = /^(percentage|percent|share|proportion|amount|sum|price|prices|fee|fees|fine|figure|number|total|cost|costs|salary|rate|score|size|margin|value|age|tally|majority|stake|bill|budget|fortune|profit|profits|loss|losses|revenue|sales|attendance|capacity|odds)$/;
const PERSON_NOUNS = /^(person|people|man|woman|men|women|player|players|manager|boss|actor|actress|singer|minister|leader|chief|coach|director|star|author|writer|president|chairman|chancellor|secretary|mp|judge|presenter|captain|striker|winner|winners|founder|ceo|executive|spokesman|official|officials|envoy|rapper|musician|band|group)$/;
const REASON_NOUNS = /^(reason|reasons|cause|causes|excuse|motive|explanation|grounds|purpose)$/;

const NOT_A_KIND = /^(is|are|was|were|does|do|did|has|have|had|will|would|can|could|should|happened|happens|happen|the|a|an|about|if|it|its|they|he|she|his|her|their|this|that|these|those|of|to|in|on|for|with|by|i|you|we|one|ones|else|exactly|s)$/;

/** The noun right after "which"/"what" (skipping a few fillers: "which two companies", "what kind of"). */
function nounAfter(words: string[], i: number): string | undefined {
  let j = i + 1;
  while (j < words.length && /^(kind|type|sort|of|two|three|four|five|big|major|other|new|exact|precise|british|uk|us|american|european)$/.test(words[j])) j++;
  return words[j];
}

/** Reads the expected answer from the question's words ("who", "how many", "which country", "why"). */
export function expectedAnswer(question: string): ExpectedAnswer {
  const q = question.toLowerCase().replace(/[’‘]/g, "'");
  const words = q.match(/[a-z0-9']+/g) ?? [];
  if (words.length === 0) return { type: 'other' };
  const has = (re: RegExp) => re.test(q);

  if (has(/\bwhy\b|\bhow come\b|\bwhat (made|caused|led|prompted|drove|forced)\b|\bwhat\b.*\b(blame[ds]?|blaming)\b.*\bon\b|\bfor what reason\b/)) return { type: 'reason' };
  if (has(/\bhow (many|much)\b|\bhow (big|large|small|long|old|far|tall|high|heavy|fast|often|deep|wide|expensive|costly|low)\b|\bwhat (percentage|proportion|share|fraction)\b|\bby how much\b|\bto what extent\b/)) {
    // "how long ago" and "how long has" ask for a duration; both are numbers or dates in the text.
    return { type: 'number' };
  }
  if (has(/\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|date|day|month|season)\b|\bby what (year|date|time)\b|\bhow soon\b|\buntil what\b/)) return { type: 'date' };
  if (has(/\bwhere\b|\bwhat (country|city|town|place|venue|state)\b|\bin which\b.*\b(country|city|town|place)\b/)) return { type: 'place' };
  if (has(/^(who|whom|whose)\b|\b(who|whom|whose)\b/)) return { type: 'person' };

  const wh = words.findIndex((w) => w === 'which' || w === 'what');
  if (wh >= 0) {
    const noun = nounAfter(words, wh);
    // "what is ...", "what did ..." name no kind of thing; "which film", "what company" do.
    const namesAKind = noun !== undefined && (words[wh] === 'which' || !NOT_A_KIND.test(noun));
    if (noun !== undefined && namesAKind) {
      if (PLACE_NOUNS.test(noun)) return { type: 'place', noun };
      if (DATE_NOUNS.test(noun)) return { type: 'date', noun };
      if (NUMBER_NOUNS.test(noun)) return { type: 'number', noun };
      if (PERSON_NOUNS.test(noun)) return { type: 'person', noun };
      if (REASON_NOUNS.test(noun)) return { type: 'reason', noun };
      if (!NOT_A_KIND.test(noun)) return { type: 'entity', noun };
    }
    if (/\bwhat\b.*\b(reason|cause)\b/.test(q)) return { type: 'reason' };
    return { type: 'other' };
  }
  if (/^(is|are|was|were|does|do|did|has|have|had|will|would|can|could|should|shall|may|might|must|isn't|aren't|wasn't|didn't|doesn't|won't|hasn't|haven't)$/.test(words[0] ?? '')) return { type: 'yesno' };
  return { type: 'other' };
}
