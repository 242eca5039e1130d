/**
 * Checks a model's answer against the passages it was given (pure; no I/O).
 *
 * - Citation markers are read in the usual shapes: `[1]`, `[1][2]`, `[1, 2]`, `[1-3]`, `[Passage 2]`.
 *   A marker written after the full stop ("Qatar. [1]") is moved before it, so that it belongs
 *   to the sentence it follows.
 * - A number that points at no passage (0, or more than k) is removed. So is a citation whose
 *   passage shares not one content word with the sentence (a number put there at random).
 * - A sentence left without any valid citation is DROPPED, not marked: an unsupported claim is
 *   never shown, and the extractive answer remains as the fallback. The one exception is a
 *   sentence that only says something is not in the knowledge base (it claims nothing).
 * - The reply "not in the knowledge base" (alone, give or take quotes, case and a full stop, or a
 *   short uncited reply saying so) is reported as `not-found`.
 * - The cited passages are renumbered 1..m in order of first citation; `cited[i]` is the prompt
 *   number of the passage that became [i + 1]. Uncited passages are not sources.
 * - When nothing cited remains, the verdict is `fallback`.
 *
 * Sentences are split with {@link splitSentences}, the codebase's one splitter.
 */
import { splitSentences } from '../text/sentences.js';
import { contentTokens } from '../text/tokens.js';
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
  return bare.length <= 300 && ABSENCE.test(bare);
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
    if (valid.length === 0) {
      const plain = sentence.replace(GROUP, '').trim();
      if (plain && ABSENCE.test(plain)) kept.push(plain);
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
