/**
 * The one sentence splitter of the codebase (answers, summaries and chunking all use it).
 *
 * Rule-based, tuned for English news: a sentence ends at `.`, `!` or `?` (optionally followed by
 * closing quotes/brackets) when the next non-space character starts a new sentence (capital
 * letter, digit, or an opening quote). It does NOT end after common abbreviations ("Mr.", "U.S."
 * when a lower-case word or a name follows), single-letter initials ("J. K. Rowling"; but
 * "hepatitis A. The next day" ends a sentence because "The" typically opens one),
 * or inside numbers ("3.5", "$1.2bn").
 *
 * Other scripts: the full-width terminators 。！？ (Chinese, Japanese) end a sentence with or
 * without a space after them; the danda ।/॥ (Devanagari and related scripts), the Arabic ؟ and ۔,
 * the Ethiopic ። and ፧ and the Armenian ։ end one when a space or the end of the text follows.
 */

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'gen', 'gov', 'sen', 'rep', 'rev', 'col',
  'lt', 'sgt', 'capt', 'cmdr', 'adm', 'maj', 'pres', 'supt', 'det', 'insp', 'hon', 'fr',
  'inc', 'ltd', 'co', 'corp', 'plc', 'llc', 'bros', 'dept', 'univ', 'assn',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
  'no', 'nos', 'vol', 'vols', 'fig', 'figs', 'pp', 'p', 'ch', 'ed', 'eds', 'approx', 'est', 'cf',
  'vs', 'v', 'etc', 'al', 'ie', 'eg', 'e.g', 'i.e', 'a.m', 'p.m', 'ave', 'blvd', 'rd', 'ft', 'lb',
  'lbs', 'oz', 'km', 'kg', 'cm', 'mm', 'min', 'max', 'govt',
]);

/**
 * Abbreviations that are often sentence-final ("... in the U.S. The next day ...").
 * After these we split when a capitalised word that is not a likely name continuation follows.
 */
const MAY_END_SENTENCE = new Set(['u.s', 'u.k', 'u.n', 'e.u', 'etc', 'inc', 'ltd', 'co', 'corp', 'plc', 'llc', 'jr', 'sr', 'a.m', 'p.m']);

/** Words that commonly open a sentence: after "U.S." they signal a boundary. */
const SENTENCE_OPENERS = new Set([
  'the', 'a', 'an', 'but', 'and', 'he', 'she', 'it', 'they', 'we', 'i', 'you', 'this', 'that',
  'these', 'those', 'there', 'in', 'on', 'at', 'for', 'however', 'meanwhile', 'his', 'her', 'its',
  'their', 'our', 'as', 'if', 'when', 'while', 'after', 'before', 'since', 'so', 'yet', 'many',
  'some', 'most', 'officials', 'despite', 'although', 'still', 'now', 'then', 'last', 'next',
]);

const CLOSERS = `"'”’)]»」』）】〉》〕＂’`;
/** Terminators of scripts written without spaces between sentences: a boundary wherever they occur. */
const FULL_WIDTH = '。！？｡．';
/** Terminators of caseless scripts written with spaces: a boundary when a space (or the end) follows. */
const CASELESS = '।॥؟۔።፧։';

export function splitSentences(text: string): string[] {
  const normalized = text.replace(/\s+/g, ' ').trim();
  if (!normalized) return [];
  const sentences: string[] = [];
  let start = 0;
  for (let i = 0; i < normalized.length; i++) {
    const ch = normalized[i];
    if (FULL_WIDTH.includes(ch) || CASELESS.includes(ch)) {
      let end = i + 1;
      while (end < normalized.length && (FULL_WIDTH.includes(normalized[end]) || CASELESS.includes(normalized[end]))) end++;
      while (end < normalized.length && CLOSERS.includes(normalized[end])) end++;
      if (CASELESS.includes(ch) && end < normalized.length && normalized[end] !== ' ') continue;
      const sentence = normalized.slice(start, end).trim();
      if (sentence) sentences.push(sentence);
      start = end;
      i = end - 1;
      continue;
    }
    if (ch !== '.' && ch !== '!' && ch !== '?' && ch !== '…') continue;
    // Extend over repeated terminators ("?!", "...") and closing quotes/brackets.
    let end = i + 1;
    while (end < normalized.length && '.!?…'.includes(normalized[end])) end++;
    while (end < normalized.length && CLOSERS.includes(normalized[end])) end++;
    if (end < normalized.length && normalized[end] !== ' ') continue; // "3.5", "U.S.-led", "e.g.,"
    const next = nextWord(normalized, end);
    if (next !== null && !isBoundary(normalized, start, i, ch, next)) {
      i = end - 1;
      continue;
    }
    const sentence = normalized.slice(start, end).trim();
    if (sentence) sentences.push(sentence);
    start = end;
    i = end - 1;
  }
  const rest = normalized.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

function nextWord(text: string, from: number): string | null {
  const m = /^\s*(\S+)/.exec(text.slice(from, from + 60));
  return m ? m[1] : null;
}

function isBoundary(text: string, sentenceStart: number, dot: number, terminator: string, next: string): boolean {
  const opener = next.replace(/^[("'“‘«\[]+/, '');
  const first = opener.charAt(0);
  // A new sentence starts with a capital, a digit or an opening quote/bracket.
  const startsSentence = /[A-Z0-9]/.test(first) || /^[("'“‘«\[]/.test(next);
  if (!startsSentence) return false;
  if (terminator !== '.') return true;
  const token = lastToken(text, sentenceStart, dot);
  const lower = token.toLowerCase();
  if (/^\d+$/.test(token)) return true; // "in 2004. The ..." (decimals never reach here)
  if (/^[A-Za-z]$/.test(token)) {
    // An initial ("J. K. Rowling") — unless a typical sentence opener follows: "hepatitis A. The ..."
    if (/^[A-Za-z]\.$/.test(next)) return false;
    const word = opener.replace(/[^A-Za-z]/g, '').toLowerCase();
    return word.length > 1 && SENTENCE_OPENERS.has(word);
  }
  if (MAY_END_SENTENCE.has(lower)) {
    const word = opener.replace(/[^A-Za-z]/g, '').toLowerCase();
    return SENTENCE_OPENERS.has(word);
  }
  if (ABBREVIATIONS.has(lower)) return false;
  if (/^([A-Za-z]\.)+[A-Za-z]$/.test(token)) return false; // other dotted acronyms: "U.A.E."
  return true;
}

/** The word right before position `dot`, without leading punctuation: "(Mr" → "Mr", "U.S" → "U.S". */
function lastToken(text: string, sentenceStart: number, dot: number): string {
  let j = dot - 1;
  while (j >= sentenceStart && !/\s/.test(text[j])) j--;
  return text.slice(j + 1, dot).replace(/^[("'“‘«\[]+/, '');
}
