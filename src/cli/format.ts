import { describeTime, formatArticleDate } from '../core/dates/time-query.js';
import type { SummaryResult } from '../core/summarize/service.js';
import type { AskResult } from '../core/types.js';

/** How an answer reads in a terminal: the text, then numbered sources (title ¶ paragraph, URL). */
export function formatAnswerForTerminal(result: AskResult): string {
  const lines = [result.answer];
  if (result.sources.length > 0) {
    lines.push('', 'Sources:');
    for (const s of result.sources) lines.push(`  [${s.n}] ${s.title}${s.date ? ` · ${formatArticleDate(s.date)} ·` : ''} ¶ ${s.paragraph}${s.url ? ` — ${s.url}` : ''}`);
  }
  if (result.time) lines.push('', `(${describeTime(result.time)})`);
  if (!result.answered && result.suggestions.length > 0) {
    lines.push('', 'The closest articles are:');
    for (const s of result.suggestions) lines.push(`  - ${s.title}${s.url ? ` — ${s.url}` : ''}`);
  }
  return lines.join('\n');
}

/**
 * How a summary reads in a terminal: a heading (article title and link, or the topic), the
 * sentences with their [n] markers, then the numbered sources — "¶ paragraph" for an article
 * summary (the title is in the heading), "title ¶ paragraph — URL" for a topic summary.
 */
export function formatSummaryForTerminal(result: SummaryResult): string {
  const heading =
    result.kind === 'article'
      ? `Summary of “${result.title}” (${result.length})${result.url ? ` — ${result.url}` : ''}`
      : result.kind === 'latest'
        ? `${result.title} (${result.length})`
        : `What the knowledge base says about “${result.title}” (${result.length})`;
  if (!result.found) return result.kind === 'article' ? `${heading}\n${result.message ?? result.text}` : result.message ?? result.text;
  const lines = [heading, '', result.text];
  if (result.sources.length > 0) {
    lines.push('', 'Sources:');
    for (const s of result.sources) {
      const date = s.date ? ` · ${formatArticleDate(s.date)} ·` : '';
      lines.push(result.kind === 'article' ? `  [${s.n}] ¶ ${s.paragraph}` : `  [${s.n}] ${s.title}${date} ¶ ${s.paragraph}${s.url ? ` — ${s.url}` : ''}`);
    }
  }
  return lines.join('\n');
}
