import { splitSentences } from '../../src/core/text/sentences.js';
import type { RawArticle } from '../../src/core/types.js';
import { splitParagraphs } from '../../src/core/chunk.js';

export interface BenchQuestion {
  question: string;
  /** Title of the article the question was made from. */
  title: string;
}

/**
 * A fixed, deterministic question set made from the corpus itself: for articles spread evenly over
 * the corpus, the first 12 words of a sentence from a middle paragraph (the way a member
 * half-remembers a fact), alternating with the article's title.
 */
export function questionsFromCorpus(articles: RawArticle[], count: number): BenchQuestion[] {
  const out: BenchQuestion[] = [];
  if (articles.length === 0) return out;
  for (let i = 0; out.length < count; i++) {
    const article = articles[Math.floor((i * articles.length) / count) % articles.length];
    if (i % 4 === 3) {
      out.push({ question: article.title, title: article.title });
      continue;
    }
    const paragraphs = splitParagraphs(article.body);
    const paragraph = paragraphs[Math.floor(paragraphs.length / 2)] ?? article.title;
    const sentences = splitSentences(paragraph);
    const sentence = sentences[i % Math.max(1, sentences.length)] ?? paragraph;
    out.push({ question: sentence.split(/\s+/).slice(0, 12).join(' '), title: article.title });
    if (i > count * 10) break;
  }
  return out;
}
