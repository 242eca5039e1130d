import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChat } from '../src/cli/chat.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { LlmClient } from '../src/core/llm/client.js';
import { loadDirectory } from '../src/core/load/index.js';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

let dir: string;
let kb: KnowledgeBase;
let server: FakeOpenAI;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-chat-'));
  kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
  await kb.ingest((await loadDirectory('knowledge')).articles);
  server = await startFakeOpenAI();
});
afterAll(async () => {
  await server.close();
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

async function chat(lines: string[], llm: LlmClient): Promise<{ writes: string[]; all: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const writes: string[] = [];
  output.on('data', (chunk: Buffer) => writes.push(chunk.toString('utf8')));
  const done = runChat(kb, input, output, undefined, llm);
  for (const line of lines) input.write(`${line}\n`);
  input.end();
  await done;
  return { writes, all: writes.join('') };
}

describe('terminal chat with a language model', () => {
  it('prints the written answer as it streams, then its sources; falls back with a note', async () => {
    server.respond = (req) => {
      const user = req.body.messages![1].content;
      const n = [...user.matchAll(/\[(\d+)\] [^\n]+\n([^\n]+)/g)].find((m) => m[2].includes('Qatar'))?.[1];
      if (user.includes('Question: Where')) return { text: `The talks took place in Qatar [${n}]. They took place in March [${n}].`, chunkDelayMs: 1 };
      return { status: 500 };
    };
    const llm = new LlmClient({ baseUrl: server.baseUrl, model: 'fake', timeoutMs: 2000 });
    const { writes, all } = await chat(['Where did the talks between the U.S. and Hamas take place?', 'Who is Adam Boehler?', '/passages'], llm);
    expect(all).toContain('The talks took place in Qatar [1]. They took place in March [1].\n\nSources:\n  [1] Hamas and U.S. Efforts');
    // The first sentence was written on its own before the rest arrived.
    expect(writes).toContain('The talks took place in Qatar [1].');
    expect(all).toMatch(/\(written answer unavailable: http: .*HTTP 500.*; showing the quoted answer\)\n.*Boehler/);
    expect(server.requests.every((r) => r.body.stream === true)).toBe(true);
  });
});
