/**
 * Summaries on top of the knowledge base: one article (`summarizeArticle`) or a topic across
 * articles (`summarizeTopic`). No Discord, no readline, no process.env: adapters render the plain
 * {@link SummaryResult} this returns.
 *
 * Markers: a summary reads like an answer. Every sentence is followed by `[n]`, and `sources[n-1]`
 * is the passage it was quoted from (article title, paragraph number ¶, URL, full passage text),
 * so an adapter that renders an `AskResult` (sources list, "Show passages") renders a
 * summary the same way. In an article summary the sources are that article's paragraphs used,
 * numbered in article order; each sentence also carries its `paragraph` for adapters that prefer
 * to print "¶ 3" directly.
 *
 * Cache: article summaries are stored in the catalog's SQLite database (table `summary_cache`,
 * one row per article and length) with the article's content hash, the embedding model and the
 * summariser version. A row is used only while all three match; re-ingesting a changed article
 * changes its hash (the stale row is replaced on the next request), and removing an article
 * deletes its rows (foreign key, ON DELETE CASCADE).
 */
import { toSource } from '../answer.js';
import { slugify } from '../chunk.js';
import type { Embedder } from '../embed/embedder.js';
import { UserInputError } from '../errors.js';
import type { KnowledgeReader } from '../servers/reader.js';
import type { ArticleRecord, StoredPassage, SummaryCache } from '../store/port.js';
import { splitSentences } from '../text/sentences.js';
import { contentTokens } from '../text/tokens.js';
import type { ScoredPassage, Source } from '../types.js';
import { SUMMARY_LENGTHS, countWords, summarizeArticle as extractSummary, type SummaryLength } from './summarizer.js';
import { relevantPassages, summarizeTopicPassages, type TopicTuning } from './topic.js';

export type { SummaryLength } from './summarizer.js';
export const SUMMARY_LENGTH_NAMES: readonly SummaryLength[] = ['short', 'medium', 'long'];

/** Bump when the summariser's output for the same article can change: cached rows are then ignored. */
export const SUMMARY_ALGORITHM_VERSION = 2;

export interface SummaryResultSentence {
  text: string;
  /** The [n] marker: `sources[n - 1]` is where the sentence comes from. */
  n: number;
  paragraph: number;
  articleId: string;
}

export interface SummaryResult {
  /** `latest`: what's new in a period (src/core/dates/latest.ts), cited like a topic summary. */
  kind: 'article' | 'topic' | 'latest';
  /** The article's title, or the topic as asked (trimmed). */
  title: string;
  /** Article summaries: the article's id and URL (when known). */
  articleId?: string;
  url?: string;
  length: SummaryLength;
  /** False when there is nothing to summarise (an empty article, a topic the knowledge base does not cover). */
  found: boolean;
  /** The sentences joined by spaces, each followed by its ` [n]` marker; `message` when not found. */
  text: string;
  /** Why nothing was found, for the user. */
  message?: string;
  sentences: SummaryResultSentence[];
  /** Numbered like `AskResult.sources`: `n` matches the [n] markers of `text`. */
  sources: Source[];
  /** True when an article summary came from the cache (no embedding was done). */
  cached: boolean;
}

export interface SummaryServiceOptions {
  /** A knowledge base, or a server's layered view (summaries are cached beside each article). */
  kb: KnowledgeReader;
  /** The index's embedder (sentence vectors for centrality and redundancy). */
  embedder: Embedder;
  /** Passages retrieved for a topic before the relevance cut. Default 10. */
  topicTopK?: number;
  topicTuning?: Partial<TopicTuning>;
}

const MAX_CANDIDATES = 5;

function normalizeRef(text: string): string {
  return text
    .replace(/^[\s"'“”‘’«»]+|[\s"'“”‘’«»]+$/g, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

function quote(text: string): string {
  return `“${text}”`;
}

export class SummaryService {
  private readonly kb: KnowledgeReader;
  private readonly embedder: Embedder;
  private readonly topicTopK: number;
  private readonly topicTuning: Partial<TopicTuning>;

  constructor(options: SummaryServiceOptions) {
    this.kb = options.kb;
    this.embedder = options.embedder;
    this.topicTopK = options.topicTopK ?? 10;
    this.topicTuning = options.topicTuning ?? {};
  }

  // -------------------------------------------------------------------------------------------
  // Article lookup
  // -------------------------------------------------------------------------------------------

  /**
   * Finds an article by id or title: exact id or title (case-insensitive), then a unique title
   * prefix, then a unique title substring. Throws a {@link UserInputError} listing up to five
   * candidate titles when the reference is ambiguous or matches nothing.
   */
  async resolveArticle(articleRef: string): Promise<ArticleRecord> {
    const ref = normalizeRef(articleRef ?? '');
    if (!ref) throw new UserInputError('Please give the title of an article to summarise.');
    const byId = await this.kb.getArticle(articleRef.trim());
    if (byId) return byId;
    const articles = await this.kb.listArticles();
    const slug = slugify(ref);
    const tiers: ((a: ArticleRecord, title: string) => boolean)[] = [
      (a, title) => title === ref || a.id === slug,
      (a, title) => title.startsWith(ref) || (slug.length > 0 && a.id.startsWith(slug)),
      (_a, title) => title.includes(ref),
    ];
    for (const matches of tiers) {
      const found = articles.filter((a) => matches(a, normalizeRef(a.title)));
      if (found.length === 1) return found[0];
      if (found.length > 1) {
        throw new UserInputError(
          `${quote(articleRef.trim())} matches ${found.length} articles; please give more of the title:\n${this.listCandidates(found)}`,
        );
      }
    }
    const closest = this.closestArticles(ref, articles);
    throw new UserInputError(
      closest.length > 0
        ? `No article is titled ${quote(articleRef.trim())}. Did you mean:\n${this.listCandidates(closest)}`
        : `No article is titled ${quote(articleRef.trim())} (the knowledge base has ${articles.length} article${articles.length === 1 ? '' : 's'}).`,
    );
  }

  /** Titles starting with (then containing) `partial`, for autocomplete; the first `limit` in title order. */
  async suggestArticles(partial: string, limit = 25): Promise<{ id: string; title: string }[]> {
    const ref = normalizeRef(partial ?? '');
    const articles = await this.kb.listArticles();
    const prefix = articles.filter((a) => normalizeRef(a.title).startsWith(ref));
    const contains = articles.filter((a) => !normalizeRef(a.title).startsWith(ref) && normalizeRef(a.title).includes(ref));
    return [...prefix, ...contains].slice(0, limit).map((a) => ({ id: a.id, title: a.title }));
  }

  private listCandidates(articles: ArticleRecord[]): string {
    const shown = articles.slice(0, MAX_CANDIDATES);
    const titleCount = new Map<string, number>();
    for (const a of shown) titleCount.set(a.title, (titleCount.get(a.title) ?? 0) + 1);
    const lines = shown.map((a) => `  - ${a.title}${(titleCount.get(a.title) ?? 0) > 1 ? ` (id: ${a.id})` : ''}`);
    if (articles.length > shown.length) lines.push(`  … and ${articles.length - shown.length} more`);
    return lines.join('\n');
  }

  /** Articles sharing the most content words with the reference (none when nothing is shared). */
  private closestArticles(ref: string, articles: ArticleRecord[]): ArticleRecord[] {
    const terms = new Set(contentTokens(ref));
    if (terms.size === 0) return [];
    return articles
      .map((a) => {
        const words = new Set(contentTokens(a.title));
        let shared = 0;
        for (const t of terms) if (words.has(t)) shared++;
        return { a, shared };
      })
      .filter((x) => x.shared > 0)
      .sort((x, y) => y.shared - x.shared || x.a.title.localeCompare(y.a.title))
      .slice(0, MAX_CANDIDATES)
      .map((x) => x.a);
  }

  // -------------------------------------------------------------------------------------------
  // Article summaries
  // -------------------------------------------------------------------------------------------

  /**
   * An extractive summary of one article, in article order, every sentence marked with the
   * paragraph it comes from. A one-paragraph article that fits the length's word budget is
   * returned whole; an article with nothing to summarise gives `found: false`. Cached.
   */
  async summarizeArticle(articleRef: string, length: SummaryLength = 'medium'): Promise<SummaryResult> {
    checkLength(length);
    const article = await this.resolveArticle(articleRef);
    const cached = await this.readCache(article, length);
    if (cached) return cached;

    const passages = await this.kb.articlePassages(article.id);
    const result = await this.computeArticleSummary(article, passages, length);
    // Only cached while the article still has the hash it was computed from (the store checks it in the write).
    await this.writeCache(article, length, result);
    return result;
  }

  private async computeArticleSummary(article: ArticleRecord, passages: StoredPassage[], length: SummaryLength): Promise<SummaryResult> {
    const base = { kind: 'article' as const, title: article.title, articleId: article.id, url: article.url, length, cached: false };
    const texts = passages.filter((p) => p.text.trim().length > 0);
    if (texts.length === 0) {
      const message = `${quote(article.title)} has no text to summarise.`;
      return { ...base, found: false, text: message, message, sentences: [], sources: [] };
    }

    let picked: { text: string; paragraph: number; score: number }[];
    const paragraphs = new Set(texts.map((p) => p.paragraph));
    const whole = texts.map((p) => p.text).join(' ');
    if (paragraphs.size === 1 && countWords(whole) <= SUMMARY_LENGTHS[length].maxWords) {
      // A one-paragraph article is its own summary.
      picked = texts.flatMap((p) => splitSentences(p.text).map((text) => ({ text, paragraph: p.paragraph, score: 1 })));
    } else {
      picked = (await extractSummary(texts.map((p) => ({ paragraph: p.paragraph, text: p.text })), this.embedder, { length })).sentences;
    }

    const sources: Source[] = [];
    const sourceOf = new Map<string, Source>();
    const sentences: SummaryResultSentence[] = [];
    for (const s of picked) {
      const passage = passageFor(texts, s.paragraph, s.text);
      let source = sourceOf.get(passage.id);
      if (!source) {
        source = {
          n: sources.length + 1,
          passageId: passage.id,
          articleId: article.id,
          title: article.title,
          paragraph: passage.paragraph,
          url: article.url,
          text: passage.text,
          score: s.score,
        };
        sourceOf.set(passage.id, source);
        sources.push(source);
      } else source.score = Math.max(source.score, s.score);
      sentences.push({ text: s.text, n: source.n, paragraph: passage.paragraph, articleId: article.id });
    }
    return { ...base, found: sentences.length > 0, text: joinMarked(sentences), sentences, sources };
  }

  /** The summary cached in the store of the article's knowledge base (its layer's), when still valid. */
  private async readCache(article: ArticleRecord, length: SummaryLength): Promise<SummaryResult | undefined> {
    const row = await (await this.kb.summariesOf(article.id))?.get(article.id, length);
    if (!row) return undefined;
    if (row.articleHash !== article.hash || row.model !== this.embedder.info.model || row.algorithm !== SUMMARY_ALGORITHM_VERSION) return undefined;
    try {
      const result = JSON.parse(row.result) as SummaryResult;
      return { ...result, title: article.title, url: article.url, cached: true };
    } catch {
      return undefined;
    }
  }

  private async writeCache(article: ArticleRecord, length: SummaryLength, result: SummaryResult): Promise<void> {
    await (await this.kb.summariesOf(article.id))?.put({
      articleId: article.id,
      length,
      articleHash: article.hash,
      model: this.embedder.info.model,
      algorithm: SUMMARY_ALGORITHM_VERSION,
      result: JSON.stringify(result),
    });
  }

  /** Cached rows (for tests and diagnostics), over the knowledge bases of the articles this service sees. */
  async cacheSize(): Promise<number> {
    const caches = new Set<SummaryCache>();
    for (const a of await this.kb.listArticles()) {
      const cache = await this.kb.summariesOf(a.id);
      if (cache) caches.add(cache);
    }
    let n = 0;
    for (const cache of caches) n += await cache.count();
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Topic summaries
  // -------------------------------------------------------------------------------------------

  /**
   * What the knowledge base says about a topic: the relevant passages across articles,
   * summarised without repeating a fact two articles share, every sentence citing its source
   * article and paragraph. `found: false` (and no text of its own) when nothing is relevant.
   */
  async summarizeTopic(topic: string, length: SummaryLength = 'medium', options: { window?: { from?: string; to?: string } } = {}): Promise<SummaryResult> {
    checkLength(length);
    const q = validateTopic(this.kb, topic);
    const base = { kind: 'topic' as const, title: q, length, cached: false };
    const topicVector = (await this.embedder.embed([q]))[0];
    // `window`: only articles published in that period (`/summary topic since: until:`).
    const { passages } = await this.kb.retrieve(q, { topK: this.topicTopK, queryVector: topicVector, ...(options.window ? { window: options.window } : {}) });
    const relevant = relevantPassages(q, passages, this.topicTuning);
    const picked = relevant.length > 0 ? await summarizeTopicPassages(q, relevant, this.embedder, { length, topicVector, tuning: this.topicTuning }) : [];
    if (picked.length === 0) {
      const message = `The knowledge base has nothing on ${quote(q)}.`;
      return { ...base, found: false, text: message, message, sentences: [], sources: [] };
    }
    const sources: Source[] = [];
    const sourceOf = new Map<number, Source>();
    const sentences: SummaryResultSentence[] = [];
    for (const s of picked) {
      const p: ScoredPassage = relevant[s.passageIndex];
      let source = sourceOf.get(s.passageIndex);
      if (!source) {
        source = toSource(p, sources.length + 1);
        sourceOf.set(s.passageIndex, source);
        sources.push(source);
      }
      sentences.push({ text: s.text, n: source.n, paragraph: p.passage.paragraph, articleId: p.passage.articleId });
    }
    return { ...base, found: true, text: joinMarked(sentences), sentences, sources };
  }
}

function checkLength(length: string): asserts length is SummaryLength {
  if (!SUMMARY_LENGTH_NAMES.includes(length as SummaryLength)) {
    throw new UserInputError(`Unknown summary length ${quote(length)}; use short, medium or long.`);
  }
}

/** Validates a topic like a question, with messages that speak of a topic. */
function validateTopic(kb: KnowledgeReader, topic: string): string {
  if (!(topic ?? '').trim()) throw new UserInputError('Please give a topic to summarise, for example: "hostage negotiations in Qatar".');
  try {
    return kb.validateQuestion(topic);
  } catch (error) {
    if (error instanceof UserInputError) throw new UserInputError(error.message.replace(/\bquestion\b/g, 'topic'));
    throw error;
  }
}

/** The passage of `paragraph` that holds the sentence (a long paragraph is stored in parts). */
function passageFor(passages: StoredPassage[], paragraph: number, sentence: string): StoredPassage {
  const candidates = passages.filter((p) => p.paragraph === paragraph);
  const probe = sentence.replace(/\s+/g, ' ').trim();
  return candidates.find((p) => p.text.replace(/\s+/g, ' ').includes(probe)) ?? candidates[0] ?? passages[0];
}

function joinMarked(sentences: SummaryResultSentence[]): string {
  return sentences.map((s) => `${s.text} [${s.n}]`).join(' ');
}
