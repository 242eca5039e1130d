import type { AskResult } from '../core/types.js';

/** How an answer reads in a terminal: the text, then numbered sources (title ¶ paragraph, URL). */
export function formatAnswerForTerminal(result: AskResult): string {
  const lines = [result.answer];
  if (result.sources.length > 0) {
    lines.push('', 'Sources:');
    for (const s of result.sources) lines.push(`  [${s.n}] ${s.title} ¶ ${s.paragraph}${s.url ? ` — ${s.url}` : ''}`);
  }
  if (!result.answered && result.suggestions.length > 0) {
    lines.push('', 'The closest articles are:');
    for (const s of result.suggestions) lines.push(`  - ${s.title}${s.url ? ` — ${s.url}` : ''}`);
  }
  return lines.join('\n');
}
