import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { UserInputError, type KnowledgeBase } from '../core/knowledge-base.js';
import type { AskResult } from '../core/types.js';
import { formatAnswerForTerminal } from './format.js';

export const CHAT_HELP = [
  'Type a question and press Enter. Commands:',
  '  /passages   show the full passages behind the last answer',
  '  /articles   list the articles in the knowledge base',
  '  /help       this help',
  '  /quit       leave (or Ctrl+D)',
  'To run the Discord bot instead, set DISCORD_TOKEN (and DISCORD_CLIENT_ID) in .env — see README, "Connect Discord".',
].join('\n');

/** The terminal chat: one question per line, answered from the same core as the Discord bot. */
export async function runChat(kb: KnowledgeBase, input: Readable, output: Writable): Promise<void> {
  const rl = createInterface({ input, output, terminal: (output as NodeJS.WriteStream).isTTY === true, prompt: '\nask> ' });
  const write = (text: string) => output.write(`${text}\n`);
  const stats = kb.stats();
  write(`Knowledge base: ${stats.articles} articles, ${stats.passages} passages (${stats.model.model}).`);
  write(CHAT_HELP);
  let last: AskResult | undefined;
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/quit' || text === '/exit') break;
    if (text === '/help') write(CHAT_HELP);
    else if (text === '/articles') for (const a of kb.listArticles()) write(`  - ${a.title} (${a.passages} passages)`);
    else if (text === '/passages') {
      if (!last || last.sources.length === 0) write('No answer with sources yet.');
      else for (const s of last.sources) write(`[${s.n}] ${s.title} ¶ ${s.paragraph}${s.url ? ` — ${s.url}` : ''}\n${s.text}\n`);
    } else if (text.startsWith('/')) write(`Unknown command ${text.split(' ')[0]}. ${CHAT_HELP.split('\n')[0]}`);
    else if (text) {
      try {
        last = await kb.ask(text);
        write(formatAnswerForTerminal(last));
      } catch (error) {
        if (error instanceof UserInputError) write(error.message);
        else throw error;
      }
    }
    rl.prompt();
  }
  rl.close();
}
