import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { LlmClient, LlmError } from '../src/core/llm/client.js';
import { SYSTEM_PROMPT } from '../src/core/llm/prompt.js';
import { throttle } from '../src/core/llm/throttle.js';
import { askWritten, writeAnswer, type WrittenResult } from '../src/core/llm/written-answer.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { AskResult, ScoredPassage } from '../src/core/types.js';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';
const API_KEY = 'sk-test-SECRET-0123456789abcdef';

let dir: string;
let kb: KnowledgeBase;
let server: FakeOpenAI;
let passages: ScoredPassage[];
let extractive: AskResult;
let logs: string[];
/** Prompt number [n] of the passage containing `word` (the order comes from retrieval, not from the test). */
let num: (word: string) => number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-test-'));
  kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
  await kb.ingest((await loadDirectory('knowledge')).articles);
  server = await startFakeOpenAI();
  extractive = await kb.ask(QUESTION);
  passages = (await kb.retrieve(QUESTION, { topK: 6 })).passages;
  num = (word) => {
    const i = passages.findIndex((p) => p.passage.text.includes(word));
    if (i < 0) throw new Error(`no passage with ${word}`);
    return i + 1;
  };
});
afterAll(async () => {
  await server.close();
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  logs = [];
});
afterEach(() => {
  server.respond = undefined;
});

function client(extra: Partial<ConstructorParameters<typeof LlmClient>[0]> = {}) {
  return new LlmClient({ baseUrl: server.baseUrl, model: 'fake-model', apiKey: API_KEY, timeoutMs: 2000, ...extra });
}
const log = (line: string) => logs.push(line);

function expectNoKey(result: WrittenResult | unknown) {
  expect(JSON.stringify(result)).not.toContain(API_KEY);
  for (const line of logs) expect(line).not.toContain(API_KEY);
  expect(logs.join('\n')).not.toContain('SECRET');
}

describe('written answers against an OpenAI-compatible server', () => {
  it('shows a well-cited answer with exactly its cited sources, renumbered in order of first citation', async () => {
    const q = num('Qatar');
    const b = num('Boehler');
    server.script({
      text: `The talks took place in Qatar in March [${q}]. A senior U.S. official, Adam Boehler, pushed for an agreement [${b}]. They were a departure from the U.S. stance [${q}].`,
    });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log });
    expect(result.mode).toBe('written');
    expect(result.answered).toBe(true);
    expect(result.answer).toBe(
      'The talks took place in Qatar in March [1]. A senior U.S. official, Adam Boehler, pushed for an agreement [2]. They were a departure from the U.S. stance [1].',
    );
    expect(result.sources.map((s) => s.n)).toEqual([1, 2]);
    expect(result.sources.map((s) => s.passageId)).toEqual([passages[q - 1].passage.id, passages[b - 1].passage.id]);
    expect(result.sources[0]).toMatchObject({ title: passages[q - 1].articleTitle, paragraph: passages[q - 1].passage.paragraph, text: passages[q - 1].passage.text });
    expect(result.llm).toMatchObject({ model: 'fake-model', streamed: false, droppedSentences: 0 });

    // The request: one POST with the model, max_tokens, the instructions, numbered titled passages and the question.
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.body).toMatchObject({ model: 'fake-model', max_tokens: 300, stream: false });
    expect(req.body.messages![0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    const user = req.body.messages![1].content;
    expect(user).toContain(`[1] ${passages[0].articleTitle}\n`);
    expect(user).toContain(`[${q}] `);
    expect(user).toMatch(/Question: Where did the talks between the U\.S\. and Hamas take place\?$/);
    expect(req.raw).not.toContain(API_KEY);
    expectNoKey(result);
  });

  it('strips invented citation numbers and drops sentences left without a valid one', async () => {
    const q = num('Qatar');
    server.script({ text: `The talks were held in Qatar [${q}][9]. Hamas then released every hostage [7]. They took place in March [0, ${q}].` });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log });
    expect(result.mode).toBe('written');
    expect(result.answer).toBe('The talks were held in Qatar [1]. They took place in March [1].');
    expect(result.sources).toHaveLength(1);
    expect(result.sources[0].passageId).toBe(passages[q - 1].passage.id);
    expect(result.llm).toMatchObject({ droppedSentences: 1, strippedCitations: [9, 7, 0] });
    expect(logs.join('\n')).toMatch(/dropped 1 uncited sentence, removed 3 invalid citations \(\[9\]\[7\]\[0\]\)/);
  });

  it('replaces an answer without any valid citation by the extractive one, and logs why', async () => {
    server.script({ text: 'The talks took place in Qatar in March, according to officials.' });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log });
    expect(result.mode).toBe('extractive');
    expect(result.answer).toBe(extractive.answer);
    expect(result.sources).toEqual(extractive.sources);
    expect(result.fallbackReason).toMatch(/no valid citation/);
    expect(logs.some((l) => /written answer not used \(no valid citation.*extractive answer/.test(l))).toBe(true);
  });

  it('falls back to the extractive answer when the model times out', async () => {
    server.script({ hang: true });
    const started = Date.now();
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client({ timeoutMs: 150 }), log });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.mode).toBe('extractive');
    expect(result.answer).toBe(extractive.answer);
    expect(result.fallbackReason).toMatch(/^timeout: .*no complete reply within 150 ms/);
    expectNoKey(result);
  });

  it('falls back on a time-out in the middle of a stream', async () => {
    const q = num('Qatar');
    server.script({ text: `The talks took place in Qatar [${q}]. They were held in March [${q}].`, chunkDelayMs: 60 });
    const tokens: string[] = [];
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client({ timeoutMs: 250 }), log, onToken: (t) => tokens.push(t) });
    expect(result.mode).toBe('extractive');
    expect(result.fallbackReason).toMatch(/^timeout/);
  });

  it('falls back on HTTP 500 and on a refused connection, with the status in the reason', async () => {
    server.script({ status: 500 });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log });
    expect(result.mode).toBe('extractive');
    expect(result.answer).toBe(extractive.answer);
    expect(result.fallbackReason).toMatch(/^http: 127\.0\.0\.1:\d+ answered HTTP 500: The server had an error/);

    const closed = await startFakeOpenAI();
    const url = closed.baseUrl;
    await closed.close();
    const refused = await writeAnswer(QUESTION, passages, extractive, { client: new LlmClient({ baseUrl: url, model: 'm', apiKey: API_KEY }), log });
    expect(refused.mode).toBe('extractive');
    expect(refused.fallbackReason).toMatch(/^network: could not reach 127\.0\.0\.1:\d+/);
    expectNoKey([result, refused]);
  });

  it('falls back on an empty reply', async () => {
    server.script({ text: '' });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log });
    expect(result).toMatchObject({ mode: 'extractive', fallbackReason: 'empty reply' });
  });

  it('shows a "not in the knowledge base" reply as unanswered, with suggestions', async () => {
    server.script({ text: 'Not in the knowledge base.' });
    const result = await writeAnswer('Who won the 1998 World Cup?', passages, extractive, { client: client(), log });
    expect(result.mode).toBe('written');
    expect(result.answered).toBe(false);
    expect(result.sources).toEqual([]);
    expect(result.answer).toMatch(/couldn't find an answer/);
    expect(result.suggestions.length).toBeGreaterThan(0);
    expect(result.suggestions[0].title).toBe(passages[0].articleTitle);
    expect(result.fallbackReason).toBeUndefined();
  });

  it('streams: tokens are requested as SSE and delivered as checked text, growing sentence by sentence', async () => {
    const q = num('Qatar');
    const b = num('Boehler');
    server.script({
      text: `The talks took place in Qatar [${q}]. Nobody knows why [99]. Adam Boehler pushed for an agreement [${b}]. It failed [${b}].`,
      chunkDelayMs: 2,
    });
    const seen: string[] = [];
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), log, onToken: (t) => seen.push(t) });
    expect(server.requests[0].body.stream).toBe(true);
    expect(server.requests[0].headers.accept).toBe('text/event-stream');
    expect(result.mode).toBe('written');
    expect(result.llm?.streamed).toBe(true);
    expect(result.answer).toBe('The talks took place in Qatar [1]. Adam Boehler pushed for an agreement [2]. It failed [2].');
    // Checked text only: the uncited sentence and the invented number never show, even mid-stream.
    expect(seen).toEqual(['The talks took place in Qatar [1].', 'The talks took place in Qatar [1]. Adam Boehler pushed for an agreement [2].']);
    for (const s of seen) expect(result.answer.startsWith(s)).toBe(true);
  });

  it('streams into a throttled editor: the final text always arrives and edits stay apart', async () => {
    const q = num('Qatar');
    // Eight supported sentences (the verifier drops a number the passage does not have, such as "round 3").
    const sentences = ['unprecedented', 'direct', 'secret', 'brief', 'long', 'tense', 'quiet', 'formal'].map((a) => `The ${a} talks took place in Qatar [${q}].`);
    server.script({ text: sentences.join(' '), chunkDelayMs: 3 });
    const edits: { at: number; text: string }[] = [];
    const edit = throttle((text: string) => void edits.push({ at: Date.now(), text }), 60);
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), onToken: edit });
    await edit.flush();
    expect(result.mode).toBe('written');
    expect(edits.length).toBeGreaterThan(0);
    expect(edits.length).toBeLessThan(8);
    for (let i = 1; i < edits.length; i++) expect(edits[i].at - edits[i - 1].at).toBeGreaterThanOrEqual(55);
    // The last streamed (checked) text is everything but the last sentence, which only the final answer has.
    expect(edits.at(-1)!.text).toBe(result.answer.slice(0, result.answer.lastIndexOf(' The')));
  });

  it('accepts a server that answers a streaming request with plain JSON', async () => {
    const q = num('Qatar');
    server.script({ text: `In Qatar [${q}].`, ignoreStream: true });
    const seen: string[] = [];
    const result = await writeAnswer(QUESTION, passages, extractive, { client: client(), onToken: (t) => seen.push(t) });
    expect(result).toMatchObject({ mode: 'written', answer: 'In Qatar [1].' });
  });

  it('never puts the API key in logs or errors, even when the server echoes it', async () => {
    server.script({ status: 401, errorBody: JSON.stringify({ error: { message: `Incorrect API key provided: ${API_KEY}. You can find your API key at https://example.test.` } }) });
    const c = client();
    let caught: unknown;
    try {
      await c.complete([{ role: 'user', content: 'hi' }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LlmError);
    const err = caught as LlmError;
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/HTTP 401: Incorrect API key provided: \[redacted\]/);
    for (const text of [err.message, String(err.stack), JSON.stringify(err), JSON.stringify(c), String(c)]) expect(text).not.toContain('SECRET');

    server.script({ status: 401, errorBody: `<html><body>Bearer ${API_KEY} rejected</body></html>` });
    const result = await writeAnswer(QUESTION, passages, extractive, { client: c, log });
    expect(result.mode).toBe('extractive');
    expect(result.fallbackReason).toContain('HTTP 401');
    expectNoKey(result);
  });

  it('sends no Authorization header without a key, and honours LLM_MAX_TOKENS', async () => {
    server.script({ text: 'not in the knowledge base' });
    await writeAnswer(QUESTION, passages, extractive, { client: client({ apiKey: undefined, maxTokens: 42 }) });
    expect(server.requests[0].headers.authorization).toBeUndefined();
    expect(server.requests[0].body.max_tokens).toBe(42);
  });

  it('keeps the prompt within the context cap, cutting passages at sentence boundaries', async () => {
    server.respond = () => ({ text: 'not in the knowledge base' });
    for (const cap of [1200, 2000, 6000]) {
      server.requests.length = 0;
      await writeAnswer(QUESTION, passages, extractive, { client: client({ maxContextChars: cap }) });
      const req = server.requests[0];
      const chars = req.body.messages!.reduce((n, m) => n + m.content.length, 0);
      expect(chars).toBeLessThanOrEqual(cap);
      // JSON framing (model, escapes, field names) adds little beyond the capped text.
      expect(Buffer.byteLength(req.raw)).toBeLessThanOrEqual(cap + 400);
      // Every passage shown ends at a sentence end of the original passage.
      const user = req.body.messages![1].content;
      const shown = [...user.matchAll(/\[(\d+)\] [^\n]+\n([^\n]+)/g)];
      expect(shown.length).toBeGreaterThan(0);
      for (const m of shown) {
        const original = passages[Number(m[1]) - 1].passage.text;
        expect(original.startsWith(m[2])).toBe(true);
        expect(m[2]).toMatch(/[.!?]["'”’)]*$/);
      }
      if (cap === 1200) expect(shown.length).toBeLessThan(passages.length);
    }
  });

  it('askWritten: writes from the passages ask retrieved once (no second search), passes earlier turns, and falls back cleanly', async () => {
    const q = 'Who pushed for the agreement?';
    server.respond = (req) => {
      const user = req.body.messages![1].content;
      const n = [...user.matchAll(/\[(\d+)\] [^\n]+\n([^\n]+)/g)].find((m) => m[2].includes('Boehler'))?.[1];
      return { text: n ? `Adam Boehler, a senior U.S. official [${n}].` : 'not in the knowledge base' };
    };
    let asked: AskResult | undefined;
    // Only `ask`: a second search would have nothing to call.
    const askOnly = { ask: async (...args: Parameters<KnowledgeBase['ask']>) => (asked = await kb.ask(...args)) };
    const result = await askWritten(askOnly, q, { client: client(), history: [{ question: QUESTION, answer: 'In Qatar [1].' }], log });
    expect(asked!.passages.length).toBeGreaterThan(0);
    expect(result.passages).toEqual(asked!.passages.slice(0, 6));
    expect(result.mode).toBe('written');
    expect(result.answer).toBe('Adam Boehler, a senior U.S. official [1].');
    expect(result.sources[0].text).toContain('Boehler');
    const user = server.requests[0].body.messages![1].content;
    expect(user).toContain(`Earlier in this conversation:\nQ: ${QUESTION}\nA: In Qatar.`);
  });
});
