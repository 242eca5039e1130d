import { describeTime, formatArticleDate } from '../core/dates/time-query.js';
import type { SummaryResult } from '../core/summarize/service.js';
import type { AskResult } from '../core/types.js';

export interface TerminalFormat {
  /** The terminal shows ANSI styles: the reader's answer span is printed in bold. Default false (plain text, for pipes and files). */
  ansi?: boolean;
}

const BOLD = '\x1b[1m';
const NORMAL = '\x1b[22m';

/** The answer text, with the reader's span (when there is one) in ANSI bold. */
function answerText(result: Pick<AskResult, 'answer' | 'highlight'>, ansi: boolean): string {
  const span = result.highlight;
  if (!ansi || !span || !(span.start >= 0 && span.end <= result.answer.length && span.end > span.start)) return result.answer;
  // Escape characters quoted from an article could restyle the terminal; only ours remain.
  const plain = (t: string) => t.replace(/\x1b/g, '');
  const { answer } = result;
  return `${plain(answer.slice(0, span.start))}${BOLD}${plain(answer.slice(span.start, span.end))}${NORMAL}${plain(answer.slice(span.end))}`;
}

/** How an answer reads in a terminal: the text, then numbered sources (title ¶ paragraph, URL). */
export function formatAnswerForTerminal(result: AskResult, format: TerminalFormat = {}): string {
  const lines = [answerText(result, format.ansi ?? false)];
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
