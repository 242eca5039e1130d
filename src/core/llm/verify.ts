/**
 * Checks a model's answer against the passages it was given (pure; no I/O).
 *
 * - Citation markers are read in the usual shapes: `[1]`, `[1][2]`, `[1, 2]`, `[1-3]`, `[Passage 2]`.
 *   A marker written after the full stop ("Qatar. [1]") is moved before it, so that it belongs
 *   to the sentence it follows.
 * - A number that points at no passage (0, or more than k) is removed. So is a citation whose
 *   passage shares not one content word with the sentence (a number put there at random).
 * - A cited sentence needs real support from the passages it cites (together): every number
 *   and every name in it must be in them, and at least half of its other content words.
 *   "Adam Boehler was fired for treason [1]" citing a passage that names Boehler is dropped.
 * - A sentence left without any valid support is DROPPED, not marked: an unsupported claim is
 *   never shown, and the extractive answer remains as the fallback. The one exception is a
 *   sentence that only says something is not in the knowledge base and asserts nothing else
 *   ("Their cost is not in the knowledge base."; not "Boehler resigned; the passages do not say why.").
 * - The reply "not in the knowledge base" (alone, give or take quotes, case and a full stop, or a
 *   short uncited reply saying so) is reported as `not-found`.
 * - The cited passages are renumbered 1..m in order of first citation; `cited[i]` is the prompt
 *   number of the passage that became [i + 1]. Uncited passages are not sources.
 * - When nothing cited remains, the verdict is `fallback`.
 *
 * Sentences are split with {@link splitSentences}, the codebase's one splitter.
 */
import { splitSentences } from '../text/sentences.js';
import { contentTokens, stem, STOP_WORDS, wordTokens } from '../text/tokens.js';
import { NOT_FOUND_REPLY } from './prompt.js';

export type Verdict =
  | {
      kind: 'answer';
      /** The checked text, with markers renumbered [1]..[m]. */
      text: string;
      /** Prompt numbers (1-based) of the cited passages, in their new order. */
      cited: number[];
      droppedSentences: string[];
      /** Citation numbers removed (pointing at no passage, or at one unrelated to the sentence). */
      strippedCitations: number[];
    }
  | { kind: 'not-found' }
  | { kind: 'fallback'; reason: string; droppedSentences: string[]; strippedCitations: number[] };

export interface VerifyOptions {
  /**
   * The reply may still be growing (streaming): its last sentence is left out, as it may be
   * unfinished, and an unclosed `<think>` block hides everything after it. Default false.
   */
  partial?: boolean;
  /** Remove citations whose passage shares no content word with the sentence. Default true. */
  requireOverlap?: boolean;
}

/** `[1]`, `[1, 2]`, `[1][2]` (two groups), `[1-3]`, `[Passage 2]`, `[sources 1 and 3]`. */
const GROUP = /\s*\[\s*(?:(?:passages?|sources?|p\.?)\s*)?(\d{1,3}(?:\s*(?:,|;|–|-|and|&)\s*(?:(?:passage|source)\s*)?\d{1,3})*)\s*\]/gi;
/** One or more groups right after a sentence's end ("Qatar. [1] The…", "Qatar.[1][2]" at the end). */
const AFTER_STOP =
  /([.!?…]+["'”’)]*)((?:\s*\[\s*(?:(?:[Pp]assages?|[Ss]ources?|p\.?)\s*)?\d{1,3}(?:\s*(?:,|;|–|-|and|&)\s*(?:(?:[Pp]assage|[Ss]ource)\s*)?\d{1,3})*\s*\])+)(?=\s*$|\s*\n|\s+[A-Z0-9"“‘'(])/g;
const ABSENCE =
  /\b(?:not (?:in|found in|contained in|covered (?:in|by)|mentioned in|part of|included in) the (?:knowledge base|passages?|provided passages?)|the (?:provided )?passages? (?:do|does) not (?:contain|mention|say|cover))\b/i;

/** Clauses of a sentence: split at , ; : and at conjunctions that join two statements. */
const CLAUSE = /\s*[,;:—–]\s*|\s+\b(?:although|though|but|however|whereas|while|yet|and)\b\s*/i;

/** The parts of a sentence that are not an absence statement ("…, although the passages do not say when"). */
function assertingClauses(sentence: string): string[] {
  if (!ABSENCE.test(sentence)) return [sentence];
  return sentence.split(CLAUSE).filter((clause) => clause && !ABSENCE.test(clause));
}

/** True when a sentence says only that something is not in the passages: no other clause has content. */
function onlyAbsence(sentence: string): boolean {
  return ABSENCE.test(sentence) && assertingClauses(sentence).every((clause) => contentTokens(clause).length === 0 || isReference(clause));
}

/** "which", "why", "sorry" … : a clause that only points back at the absent thing, or politeness. */
function isReference(clause: string): boolean {
  const c = clause.replace(/[.!?…]+$/, '').trim();
  return (
    /^(?:which|that|this|it|why|when|where|how|who|what)(?:\s+(?:is|was|are|were))?$/i.test(c) ||
    /^(?:sorry|unfortunately|regrettably|i(?:'|’)?m sorry|i am sorry|i(?:'|’)?m afraid|i am afraid)$/i.test(c)
  );
}

/** Numbers as written, without thousands separators: "84,000" → "84000", "2-1" → "2", "1". */
function numbersIn(text: string): string[] {
  return (text.match(/\d+(?:[.,]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}\b)/g, ''));
}

/** Openers that are capitalised only because they start the sentence. */
const OPENERS = new Set(['according', 'additionally', 'also', 'overall', 'notably', 'meanwhile', 'however', 'yes', 'no', 'both', 'because', 'since', 'although', 'though', 'while']);

/**
 * Names: runs of capitalised words (the first word too, unless a stop word or a common opener),
 * each run as its lower-case word tokens. "the United States and Hamas" → [["united", "states"], ["hamas"]].
 */
function namesIn(text: string): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  const words = text.match(/[\p{L}\p{N}][\p{L}\p{N}'’.-]*|[^\s\p{L}\p{N}]+/gu) ?? [];
  let first = true;
  for (const word of words) {
    const isWord = /^[\p{L}\p{N}]/u.test(word);
    const tokens = isWord ? wordTokens(word) : [];
    const opener = first && (tokens.every((t) => STOP_WORDS.has(t)) || OPENERS.has(tokens[0]) || /ly$/.test(tokens[0] ?? ''));
    if (isWord) first = false;
    if (isWord && /^\p{Lu}/u.test(word) && !opener && !(tokens.length === 1 && tokens[0] === 'i')) {
      run.push(...tokens);
      continue;
    }
    if (run.length > 0) runs.push(run);
    run = [];
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Acronyms written in a text, lower case without dots: "U.S." and "US" → "us". */
function acronymsIn(text: string): Set<string> {
  return new Set((text.match(/\b(?:\p{Lu}\.){2,}|\b\p{Lu}{2,}\b/gu) ?? []).map((a) => a.replace(/\./g, '').toLowerCase()));
}

/** A name is in the passages when all its words are, or when its initials are an acronym there ("United States" / "U.S."). */
function nameSupported(name: string[], words: Set<string>, acronyms: Set<string>): boolean {
  const meaningful = name.filter((t) => !STOP_WORDS.has(t));
  if (meaningful.every((t) => words.has(t))) return true;
  return meaningful.length > 1 && acronyms.has(meaningful.map((t) => t[0]).join(''));
}

/**
 * Whether the cited passages support a sentence: each number and name of its asserting clauses
 * is in them, and at least half of its other content words (stemmed) are.
 */
function isSupported(sentence: string, passages: string[]): boolean {
  const clauses = assertingClauses(sentence).join(' ');
  const text = passages.join(' ');
  const passageNumbers = new Set(numbersIn(text));
  if (numbersIn(clauses).some((n) => !passageNumbers.has(n))) return false;
  const passageWords = new Set(wordTokens(text));
  const names = namesIn(clauses);
  const acronyms = acronymsIn(text);
  if (names.some((n) => !nameSupported(n, passageWords, acronyms))) return false;
  const nameSet = new Set(names.flat());
  const passageTerms = new Set(contentTokens(text));
  const others = wordTokens(clauses)
    .filter((w) => !STOP_WORDS.has(w) && !nameSet.has(w) && !/^\d/.test(w))
    .map((w) => stem(w));
  if (others.length === 0) return true;
  return others.filter((w) => passageTerms.has(w)).length * 2 >= others.length;
}

/** Removes `<think>…</think>` blocks some reasoning models emit (and, while streaming, an unclosed one). */
export function stripThinking(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/gi, '');
  const open = out.search(/<think>/i);
  if (open >= 0) out = out.slice(0, open);
  return out;
}

/** Light clean-up of model formatting: emphasis markers, headings and list bullets. */
function cleanFormatting(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/^\s*(?:#{1,6}\s+|[-*•]\s+|\d+[.)]\s+(?=\D))/, '')
        .replace(/\*\*|__/g, '')
        .trim(),
    )
    .join('\n');
}

function parseNumbers(inner: string): number[] {
  const out: number[] = [];
  for (const part of inner.split(/\s*(?:,|;|and|&)\s*/i)) {
    const range = /^(?:(?:passage|source)\s*)?(\d+)\s*[–-]\s*(?:(?:passage|source)\s*)?(\d+)$/i.exec(part.trim());
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b >= a && b - a <= 10) for (let n = a; n <= b; n++) out.push(n);
      else out.push(a, b);
      continue;
    }
    const single = /(\d+)/.exec(part);
    if (single) out.push(Number(single[1]));
  }
  return out;
}

/** True when the reply says the passages do not hold the answer (and cites nothing valid). */
export function isNotFoundReply(text: string, passageCount: number): boolean {
  const hasValid = [...text.matchAll(GROUP)].some((m) => parseNumbers(m[1]).some((n) => n >= 1 && n <= passageCount));
  if (hasValid) return false;
  const bare = text
    .replace(GROUP, '')
    .toLowerCase()
    .replace(/[“”"'‘’`*_.!]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (bare === NOT_FOUND_REPLY) return true;
  // A short reply that only says the passages do not hold it (a claim beside it is not "not found").
  return bare.length <= 300 && ABSENCE.test(bare) && sentencesOf(bare).every((s) => onlyAbsence(s) || !ABSENCE.test(s) && contentTokens(s).length === 0);
}

/** Splits a reply into sentences: each line on its own (lists, paragraphs), then {@link splitSentences}. */
function sentencesOf(text: string): string[] {
  return text.split(/\n+/).flatMap((line) => splitSentences(line));
}

export function verifyAnswer(reply: string, excerpts: readonly string[], options: VerifyOptions = {}): Verdict {
  const k = excerpts.length;
  const requireOverlap = options.requireOverlap ?? true;
  const text = cleanFormatting(stripThinking(reply)).trim();
  const empty = { droppedSentences: [], strippedCitations: [] };
  if (!text) return { kind: 'fallback', reason: 'empty reply', ...empty };
  if (!options.partial && isNotFoundReply(text, k)) return { kind: 'not-found' };

  const moved = text.replace(AFTER_STOP, (_m, stop: string, groups: string, offset: number, whole: string) =>
    // "the U.S. [1]" keeps the abbreviation's dot and gets a full stop after the marker.
    /(?:^|[\s(])(?:[A-Za-z]\.)+[A-Za-z]$/.test(whole.slice(Math.max(0, offset - 16), offset))
      ? `${stop} ${groups.trim()}.`
      : ` ${groups.trim()}${stop}`,
  );
  let sentences = sentencesOf(moved);
  if (options.partial) sentences = sentences.slice(0, -1);

  const passageTerms = new Map<number, Set<string>>();
  const termsOf = (n: number) => {
    let set = passageTerms.get(n);
    if (!set) passageTerms.set(n, (set = new Set(contentTokens(excerpts[n - 1]))));
    return set;
  };

  const order: number[] = [];
  const renumber = new Map<number, number>();
  const kept: string[] = [];
  const dropped: string[] = [];
  const stripped: number[] = [];

  for (const sentence of sentences) {
    const words = new Set(contentTokens(sentence.replace(GROUP, ' ')));
    const valid: number[] = [];
    const groups: { index: number; length: number; numbers: number[] }[] = [];
    for (const m of sentence.matchAll(GROUP)) {
      const numbers: number[] = [];
      for (const n of parseNumbers(m[1])) {
        const ok = n >= 1 && n <= k && (!requireOverlap || words.size === 0 || [...words].some((w) => termsOf(n).has(w)));
        if (!ok) stripped.push(n);
        else if (!numbers.includes(n)) numbers.push(n);
      }
      groups.push({ index: m.index!, length: m[0].length, numbers });
      valid.push(...numbers);
    }
    if (valid.length > 0 && requireOverlap && !isSupported(sentence.replace(GROUP, ' '), valid.map((n) => excerpts[n - 1]))) {
      valid.length = 0; // cited, but the passages do not carry it: dropped below like an uncited claim
    }
    if (valid.length === 0) {
      const plain = sentence.replace(GROUP, '').replace(/\s+([.,;:!?…])/g, '$1').trim();
      if (plain && onlyAbsence(plain)) kept.push(plain);
      else if (plain) dropped.push(plain);
      continue;
    }
    for (const n of valid) {
      if (!renumber.has(n)) {
        order.push(n);
        renumber.set(n, order.length);
      }
    }
    // Rewrite the markers from the end, so earlier indexes stay right.
    let out = sentence;
    for (const g of [...groups].reverse()) {
      const markers = g.numbers.map((n) => `[${renumber.get(n)}]`).join('');
      out = `${out.slice(0, g.index)}${markers ? ` ${markers}` : ''}${out.slice(g.index + g.length)}`;
    }
    kept.push(
      out
        .replace(/\]\s+\[(?=\d+\])/g, '][') // "[2] [1]" → "[2][1]"
        .replace(/(\[\d+\])\1+/g, '$1') // "[1][1]" → "[1]"
        .replace(/\s+([.,;:!?…])/g, '$1')
        .replace(/\s{2,}/g, ' ')
        .trim(),
    );
  }

  if (order.length === 0) {
    return {
      kind: 'fallback',
      reason: options.partial ? 'nothing checked yet' : 'no sentence cites a passage',
      droppedSentences: dropped,
      strippedCitations: stripped,
    };
  }
  return { kind: 'answer', text: kept.join(' '), cited: order, droppedSentences: dropped, strippedCitations: stripped };
}
