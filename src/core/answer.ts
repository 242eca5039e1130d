import { splitSentences } from './text/sentences.js';
import { contentTokens } from './text/tokens.js';
import { textSimilarity } from './retrieve.js';
import type { ScoredPassage, Source } from './types.js';

/** Options of {@link composeAnswer}. */
export interface ComposeOptions {
  /** Longest answer in characters (markers included). Default 600. */
  maxChars?: number;
  /** Most sentences in an answer. Default 3. */
  maxSentences?: number;
  /** How many of the top passages sentences are drawn from. Default 3. */
  passagesConsidered?: number;
  /**
   * Least share of the question's (idf-weighted) content words that the best sentence must
   * contain for the knowledge base to count as having an answer. Default 0.4
   * (fitted on SQuADShifts: 90% of real questions answered, 22% of questions whose article is
   * missing still get a quoted answer from another article; 0.3 gives 96% and 37%).
   */
  minCoverage?: number;
  /** A top passage at least this similar (cosine) to the question also counts as an answer. Default 0.6. */
  minDense?: number;
}

export const DEFAULT_COMPOSE: Required<ComposeOptions> = {
  maxChars: 600,
  maxSentences: 3,
  passagesConsidered: 3,
  minCoverage: 0.4,
  minDense: 0.6,
};

export interface ComposedAnswer {
  answered: boolean;
  /** Text with [n] markers; empty when not answered. */
  answer: string;
  sources: Source[];
  /** Coverage of the best sentence (0–1): how much of the question it speaks to. */
  confidence: number;
}

interface ScoredSentence {
  text: string;
  passageIndex: number;
  position: number;
  coverage: number;
  score: number;
}

/** idf-like weights of the question's terms, estimated over the candidate passages. */
function termWeights(questionTerms: string[], passages: ScoredPassage[]): Map<string, number> {
  const docs = passages.map((p) => new Set(contentTokens(`${p.articleTitle} ${p.passage.text}`)));
  const weights = new Map<string, number>();
  for (const t of new Set(questionTerms)) {
    const df = docs.filter((d) => d.has(t)).length;
    weights.set(t, Math.log(1 + (docs.length + 1) / (df + 0.5)));
  }
  return weights;
}

function coverage(sentenceTerms: Set<string>, weights: Map<string, number>): number {
  let total = 0;
  let hit = 0;
  for (const [t, w] of weights) {
    total += w;
    if (sentenceTerms.has(t)) hit += w;
  }
  return total > 0 ? hit / total : 0;
}

/**
 * Picks the sentences of the top passages that best answer the question and cites each.
 * A sentence's score mixes how much of the question it covers (lexically, idf-weighted) with how
 * well its passage ranked (which carries the embedding similarity). Never writes text of its own:
 * every sentence is quoted from a passage, and every [n] points at a returned source.
 */
export function composeAnswer(question: string, ranked: ScoredPassage[], options: ComposeOptions = {}): ComposedAnswer {
  const opts = { ...DEFAULT_COMPOSE, ...options };
  const passages = ranked.slice(0, opts.passagesConsidered);
  if (passages.length === 0) return { answered: false, answer: '', sources: [], confidence: 0 };

  const weights = termWeights(contentTokens(question), ranked.slice(0, 10));
  const best = passages[0].score || 1;
  const sentences: ScoredSentence[] = [];
  passages.forEach((p, passageIndex) => {
    const titleTerms = new Set(contentTokens(p.articleTitle));
    splitSentences(p.passage.text).forEach((text, position) => {
      const terms = new Set(contentTokens(text));
      // The title is context for every sentence of its article ("the talks" of "Hamas talks"),
      // but counts for less than the sentence's own words.
      const own = coverage(terms, weights);
      const withTitle = coverage(new Set([...terms, ...titleTerms]), weights);
      const cov = 0.8 * own + 0.2 * withTitle;
      const rank = Math.max(0, p.score) / best;
      sentences.push({ text, passageIndex, position, coverage: own, score: 0.6 * cov + 0.4 * rank - 0.01 * position });
    });
  });
  sentences.sort((a, b) => b.score - a.score || a.passageIndex - b.passageIndex || a.position - b.position);

  const top = sentences[0];
  const topDense = passages[0].dense ?? 0;
  const confidence = top?.coverage ?? 0;
  if (!top || (confidence < opts.minCoverage && topDense < opts.minDense)) {
    return { answered: false, answer: '', sources: [], confidence };
  }

  const chosen: ScoredSentence[] = [top];
  let length = top.text.length + 5;
  for (const s of sentences.slice(1)) {
    if (chosen.length >= opts.maxSentences) break;
    if (s.score < 0.8 * top.score || s.coverage === 0) continue;
    if (length + s.text.length + 5 > opts.maxChars) continue;
    if (chosen.some((c) => textSimilarity(c.text, s.text) >= 0.5)) continue;
    chosen.push(s);
    length += s.text.length + 5;
  }
  // Read in a natural order: by passage rank, then position within the passage.
  chosen.sort((a, b) => a.passageIndex - b.passageIndex || a.position - b.position);

  const sources: Source[] = [];
  const numberOf = new Map<number, number>();
  const parts: string[] = [];
  for (const s of chosen) {
    let n = numberOf.get(s.passageIndex);
    if (n === undefined) {
      const p = passages[s.passageIndex];
      n = sources.length + 1;
      numberOf.set(s.passageIndex, n);
      sources.push(toSource(p, n));
    }
    parts.push(`${truncate(s.text, opts.maxChars - 5)} [${n}]`);
  }
  return { answered: true, answer: parts.join(' '), sources, confidence };
}

/** The numbered source under an answer or summary for a retrieved passage. */
export function toSource(p: ScoredPassage, n: number): Source {
  return {
    n,
    passageId: p.passage.id,
    articleId: p.passage.articleId,
    title: p.articleTitle,
    paragraph: p.passage.paragraph,
    url: p.articleUrl,
    text: p.passage.text,
    score: p.score,
    ...(p.layer ? { layer: p.layer } : {}),
    ...(p.articleDate ? { date: p.articleDate } : {}),
  };
}

/** Cuts at a word boundary and marks the cut; a quoted sentence is never silently shortened. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
