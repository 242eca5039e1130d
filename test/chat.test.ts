import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHAT_HELP, parseSummaryCommand, runChat } from '../src/cli/chat.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { SummaryService } from '../src/core/summarize/service.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';
const PROMPT = '\nask> ';

let dir: string;
let embedder: HashEmbedder;
let kb: KnowledgeBase;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-test-'));
  embedder = new HashEmbedder();
  kb = await KnowledgeBase.open({ dataDir: dir, embedder });
  await kb.ingest((await loadDirectory('knowledge')).articles);
});
afterEach(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Feeds the lines to the chat, waits for it to end, and returns what it printed after each line. */
async function chat(lines: string[], summaries?: SummaryService): Promise<{ all: string; replies: string[] }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let all = '';
  output.on('data', (chunk: Buffer) => (all += chunk.toString('utf8')));
  const done = runChat(kb, input, output, summaries);
  for (const line of lines) input.write(`${line}\n`);
  input.end();
  await done;
  // Segment 0 is the greeting; segment i is the reply to line i (the chat prompts after each).
  return { all, replies: all.split(PROMPT).slice(1) };
}

describe('terminal chat', () => {
  it('answers with citations, shows passages and summaries, ignores empty lines, explains limits, and quits', async () => {
    const { all, replies } = await chat(
      [
        'Where did the talks between the U.S. and Hamas take place?',
        '/passages',
        '',
        '/summary hamas and u.s. --short',
        '/passages',
        'x'.repeat(1001),
        '/quit',
        '/articles',
      ],
      new SummaryService({ kb, embedder }),
    );
    expect(all).toContain('Knowledge base: 1 articles');
    expect(all).toContain(CHAT_HELP);

    const [answer, passages, empty, summary, summaryPassages, tooLong, ...rest] = replies;
    expect(answer).toContain('Qatar');
    expect(answer).toMatch(/\[1\]/);
    expect(answer).toContain(`[1] ${SEED_TITLE} · 10 Apr 2025 · ¶ 4`);

    expect(passages).toContain(`[1] ${SEED_TITLE} ¶ 4`);
    expect(passages).toContain('These unprecedented talks, which took place in Qatar in March');

    expect(empty).toBe('');

    expect(summary).toContain(`Summary of “${SEED_TITLE}” (short)`);
    expect(summary).toMatch(/\[1\] ¶ \d+/);
    const sentences = summary.split('\n').filter((l) => /\[\d+\]$/.test(l.trim()));
    expect(sentences).toHaveLength(1); // the summary text line
    expect(summaryPassages).toMatch(new RegExp(`\\[1\\] ${SEED_TITLE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ¶ \\d+`));

    expect(tooLong).toContain('That question is 1001 characters long; please keep it under 1000.');
    // /quit ends the chat: no reply after it (only what follows the last prompt, nothing), and /articles is never handled.
    expect(rest).toEqual(['']);
    expect(all).not.toContain('passages)');
  });

  it('summarises a topic, reports an unknown article, and explains a bad length flag', async () => {
    const { replies } = await chat(
      ['/topic hostage talks in Qatar', '/summary Nonexistent piece', '/summary hamas --huge', '/summary', '/topic boiling point of liquid nitrogen --long'],
      new SummaryService({ kb, embedder }),
    );
    const [topic, unknown, badFlag, usage, nothing] = replies;
    expect(topic).toContain('What the knowledge base says about “hostage talks in Qatar” (medium)');
    expect(topic).toContain(`${SEED_TITLE} · 10 Apr 2025 · ¶ 4`);
    expect(unknown).toContain('No article is titled “Nonexistent piece”');
    expect(badFlag).toContain('Unknown option --huge');
    expect(usage).toContain('Usage: /summary <article title>');
    expect(nothing).toContain('The knowledge base has nothing on “boiling point of liquid nitrogen”');
  });

  it('says summaries are unavailable when no summary service is given', async () => {
    const { replies } = await chat(['/summary hamas']);
    expect(replies[0]).toContain('Summaries are not available');
  });

  it('parses trailing length flags', () => {
    expect(parseSummaryCommand('Hamas talks --short')).toEqual({ arg: 'Hamas talks', length: 'short' });
    expect(parseSummaryCommand('Hamas talks --LONG')).toEqual({ arg: 'Hamas talks', length: 'long' });
    expect(parseSummaryCommand('Hamas talks')).toEqual({ arg: 'Hamas talks', length: 'medium' });
    expect(parseSummaryCommand('--short')).toEqual({ arg: '', length: 'short' });
    expect(() => parseSummaryCommand('Hamas --tiny')).toThrow(UserInputError);
  });
});
