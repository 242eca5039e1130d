import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { UserInputError, type KnowledgeBase } from '../core/knowledge-base.js';
import type { SummaryLength, SummaryResult, SummaryService } from '../core/summarize/service.js';
import type { Source } from '../core/types.js';
import type { ChatClient } from '../core/llm/client.js';
import { askWritten } from '../core/llm/written-answer.js';
import { formatAnswerForTerminal, formatSummaryForTerminal } from './format.js';

export const CHAT_HELP = [
  'Type a question and press Enter. Commands:',
  '  /passages   show the full passages behind the last answer or summary',
  '  /articles   list the articles in the knowledge base',
  '  /summary <article title> [--short|--medium|--long]   summarise one article',
  '  /topic <text> [--short|--medium|--long]              what the articles say about a topic',
  '  /help       this help',
  '  /quit       leave (or Ctrl+D)',
  'To run the Discord bot instead, set DISCORD_TOKEN (and DISCORD_CLIENT_ID) in .env — see README, "Connect Discord".',
].join('\n');

const LENGTH_FLAG = /\s+--(\S+)$/;

/** "/summary Hamas talks --short" → { arg: "Hamas talks", length: "short" }; a bad flag is a UserInputError. */
export function parseSummaryCommand(rest: string): { arg: string; length: SummaryLength } {
  let arg = ` ${rest}`.trimEnd();
  let length: SummaryLength = 'medium';
  const m = LENGTH_FLAG.exec(arg);
  if (m) {
    const flag = m[1].toLowerCase();
    if (flag !== 'short' && flag !== 'medium' && flag !== 'long') throw new UserInputError(`Unknown option --${m[1]}; use --short, --medium or --long.`);
    length = flag;
    arg = arg.slice(0, m.index);
  }
  return { arg: arg.trim(), length };
}

/** The command word of a line ("/summary" of "/summary Hamas") and the rest. */
function command(text: string): { name: string; rest: string } {
  const space = text.search(/\s/);
  return space < 0 ? { name: text, rest: '' } : { name: text.slice(0, space), rest: text.slice(space + 1).trim() };
}

/**
 * The terminal chat: one question per line, answered from the same core as the Discord bot.
 * With a {@link SummaryService}, `/summary` and `/topic` summarise an article or a topic.
 * With a language model (`llm`, from LLM_BASE_URL), answers are written by it, printed as they
 * stream (checked sentences only), and the quoted answer is shown when it fails.
 */
export async function runChat(kb: KnowledgeBase, input: Readable, output: Writable, summaries?: SummaryService, llm?: ChatClient): Promise<void> {
  // Read before readline starts: lines typed (or piped) meanwhile would otherwise be lost.
  const stats = await kb.stats();
  const rl = createInterface({ input, output, terminal: (output as NodeJS.WriteStream).isTTY === true, prompt: '\nask> ' });
  const write = (text: string) => output.write(`${text}\n`);
  write(`Knowledge base: ${stats.articles} articles, ${stats.passages} passages (${stats.model.model}).`);
  write(CHAT_HELP);
  let last: { sources: Source[] } | undefined;
  const summarize = async (run: (service: SummaryService) => Promise<SummaryResult>) => {
    if (!summaries) {
      write('Summaries are not available in this chat.');
      return;
    }
    const result = await run(summaries);
    last = result;
    write(formatSummaryForTerminal(result));
  };
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/quit' || text === '/exit') break;
    try {
      const { name, rest } = command(text);
      if (text === '/help') write(CHAT_HELP);
      else if (text === '/articles') for (const a of await kb.listArticles()) write(`  - ${a.title} (${a.passages} passages)`);
      else if (text === '/passages') {
        if (!last || last.sources.length === 0) write('No answer with sources yet.');
        else for (const s of last.sources) write(`[${s.n}] ${s.title} ¶ ${s.paragraph}${s.url ? ` — ${s.url}` : ''}\n${s.text}\n`);
      } else if (name === '/summary') {
        const { arg, length } = parseSummaryCommand(rest);
        if (!arg) write('Usage: /summary <article title> [--short|--medium|--long]  (/articles lists the titles)');
        else await summarize((s) => s.summarizeArticle(arg, length));
      } else if (name === '/topic') {
        const { arg, length } = parseSummaryCommand(rest);
        if (!arg) write('Usage: /topic <text> [--short|--medium|--long]');
        else await summarize((s) => s.summarizeTopic(arg, length));
      } else if (text.startsWith('/')) write(`Unknown command ${name}. ${CHAT_HELP.split('\n')[0]}`);
      else if (text && llm) {
        let printed = '';
        const result = await askWritten(kb, text, {
          client: llm,
          onToken: (soFar) => {
            // Checked text only grows by whole sentences; print what is new.
            if (!soFar.startsWith(printed)) return;
            output.write(soFar.slice(printed.length));
            printed = soFar;
          },
        });
        last = result;
        const formatted = formatAnswerForTerminal(result);
        if (printed && result.mode === 'written' && formatted.startsWith(printed)) write(formatted.slice(printed.length));
        else {
          if (printed) write('');
          if (result.fallbackReason) write(`(written answer unavailable: ${result.fallbackReason}; showing the quoted answer)`);
          write(formatted);
        }
      } else if (text) {
        const result = await kb.ask(text);
        last = result;
        write(formatAnswerForTerminal(result, { ansi: Boolean((output as { isTTY?: boolean }).isTTY) }));
      }
    } catch (error) {
      if (error instanceof UserInputError) write(error.message);
      else throw error;
    }
    rl.prompt();
  }
  rl.close();
}
