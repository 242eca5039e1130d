/**
 * RERANK_MODEL and READER_MODEL through the real path: tiny ONNX models built here (a cross-encoder
 * and a question-answering model, test/helpers/tiny-answer-models.ts) loaded by Transformers.js on
 * the embedding worker beside the tiny embedding model, a real KnowledgeBase holding the seed
 * article, and the Discord bot against the fake Discord.
 *
 * onnxruntime-node allows one thread per process, so this file starts exactly one such worker and
 * every test shares it (answer-models-off.test.ts starts its own, in its own process).
 */
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { startBot } from '../src/bot/client.js';
import { loadConfig } from '../src/config.js';
import { askKnowledge, rerankPassages } from '../src/core/ask.js';
import type { WorkerPoolEmbedder } from '../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { shareSeedKbWithAnswerModels } from './helpers/answer-models-kb.js';
import { FakeDiscord } from './helpers/fake-discord.js';
import { buildTinyCrossEncoder, buildTinyReader, tinyRerankScore } from './helpers/tiny-answer-models.js';

const RERANK = 'test/tiny-cross-encoder';
const READER = 'test/tiny-reader';
const WHERE = 'Where did the talks between the U.S. and Hamas take place?';

let dir: string;
let pool: WorkerPoolEmbedder;
let kb: KnowledgeBase;
const log = vi.fn<(line: string) => void>();

shareSeedKbWithAnswerModels(
  {
    tempPrefix: 'answer-models-',
    buildAnswerModels: (models) => Promise.all([buildTinyCrossEncoder(models, RERANK), buildTinyReader(models, READER)]),
    allowRemote: false,
    answerModels: { rerank: RERANK, reader: READER },
    log,
  },
  (setup) => ({ dir, pool, kb } = setup),
);

describe('loading', () => {
  it('loads both models on the embedding worker and logs one line for each', () => {
    const lines = log.mock.calls.map(([line]) => line);
    expect(lines.filter((l) => l.startsWith('Embedding model:'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith(`Re-ranking model: ${RERANK}`))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith(`Reader model: ${READER}`))).toHaveLength(1);
    expect(pool.size).toBe(1);
    expect(pool.reranker?.model).toBe(RERANK);
    expect(pool.reader?.model).toBe(READER);
  });
});

describe('re-ranking (RERANK_MODEL)', () => {
  it("scores each pair as the model does, through the worker's Transformers.js cross-encoder", async () => {
    const query = 'Where were the talks held?';
    const passages = ['The talks took place in Qatar.', 'A ceasefire deal was not reached.', 'The football match ended in a draw.', 'Qatar and the ceasefire deal'];
    const scores = await pool.reranker!.score(query, passages);
    expect(scores).toEqual(passages.map((p) => tinyRerankScore(query, p)));
    expect(scores).toEqual([3, 3, 0, 6]);
  });

  it("puts the retrieved passages in the model's order, which is not the fused one", async () => {
    // Beside the seed article, one whose words the tiny cross-encoder weighs most ("ceasefire deal")
    // but that fusion ranks low for this question.
    const other = await KnowledgeBase.open({ dataDir: join(dir, 'data-rerank'), embedder: pool });
    await other.ingest([
      ...(await loadDirectory('knowledge')).articles,
      { title: 'Gaza ceasefire', body: 'A ceasefire deal for Gaza: the ceasefire deal was signed by the government.', origin: 'test' },
    ]);
    const query = WHERE;
    const { passages: fused } = await other.retrieve(query);
    await other.close();
    const reranked = await rerankPassages(pool.reranker!, query, fused);
    const expected = fused
      .map((p, i) => ({ id: p.passage.id, score: tinyRerankScore(query, p.passage.text), i }))
      .sort((a, b) => b.score - a.score || a.i - b.i);
    expect(reranked.map((p) => p.passage.id)).toEqual(expected.map((e) => e.id));
    expect(reranked.map((p) => p.rerank)).toEqual(expected.map((e) => e.score));
    // The model changes the order here (or the test would prove nothing): its first is not fusion's.
    expect(reranked[0].passage.id).not.toBe(fused[0].passage.id);
    // The fused scores are kept beside the model's (the refusal model reads them).
    for (const p of reranked) expect(p.score).toBe(fused.find((f) => f.passage.id === p.passage.id)!.score);
  });

  it('ask re-ranks once per retrieval and reports the time it took; without models the timing is absent', async () => {
    const withModels = await kb.ask(WHERE);
    expect(withModels.timings.rerank).toBeGreaterThan(0);
    const without = await askKnowledge(kb, WHERE);
    expect(without.timings.rerank).toBeUndefined();
    expect(without.highlight).toBeUndefined();
  });
});

describe('answer spans (READER_MODEL)', () => {
  it("finds the model's span inside a context, with its probability", async () => {
    const context = 'These unprecedented talks, which took place in Qatar in March, marked a departure.';
    const span = await pool.reader!.read('Where were the talks?', context);
    expect(span).not.toBeNull();
    expect(context.slice(span!.start, span!.end)).toBe('Qatar'); // the uncased model said "qatar"
    expect(span!.score).toBeGreaterThan(0.9);
    // Where the model sees no answer its best span is a guess, too unlikely to be marked (ComposeOptions.minSpanScore).
    const guess = await pool.reader!.read('Where were the talks?', 'The football match ended in a draw.');
    expect(guess!.score).toBeLessThan(0.1);
  });

  it('marks the span inside the quoted sentence of the answer', async () => {
    const result = await kb.ask(WHERE);
    expect(result.answered).toBe(true);
    expect(result.highlight).toBeDefined();
    const { start, end } = result.highlight!;
    expect(result.answer.slice(start, end)).toBe('Qatar');
    expect(result.answer.slice(0, end)).toMatch(/took place in Qatar$/);
  });

  it('shows the span in bold inside the quoted sentence of the Discord reply, nothing pinged', async () => {
    const fake = await FakeDiscord.start();
    const config = loadConfig({
      DATA_DIR: join(dir, 'data'),
      DISCORD_TOKEN: fake.token,
      DISCORD_CLIENT_ID: fake.applicationId,
      GUILD_ID: fake.guildId,
      DISCORD_API_URL: fake.apiUrl,
      ASK_COOLDOWN_SECONDS: '0',
    });
    const logger = pino({ level: 'silent' });
    const app: App = { config, logger, embedder: pool, answerModels: pool, kb, close: async () => {} };
    const bot = await startBot(app);
    try {
      const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
      const edit = await sent.waitForEditOriginal();
      const description: string = edit.body.embeds[0].description;
      expect(description).toMatch(/which took place in \*\*Qatar\*\* in March/);
      expect(description.match(/\*\*/g)).toHaveLength(2);
      expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    } finally {
      await bot.stop();
      await fake.close();
    }
  });
});

describe('when the worker that holds them stops', () => {
  it('the pool no longer offers them and says so once (a new thread could not load them again)', async () => {
    expect(pool.reranker).toBeDefined();
    await (pool.members[0] as unknown as { kill(): Promise<void> }).kill();
    await vi.waitFor(() => expect(pool.size).toBe(0));
    expect(pool.reranker).toBeUndefined();
    expect(pool.reader).toBeUndefined();
    const lost = log.mock.calls.map(([line]) => line).filter((l) => l.includes('off until the bot restarts'));
    expect(lost).toEqual([`${RERANK} and ${READER} ran on that worker and are off until the bot restarts (a new thread cannot load onnxruntime-node again); answers go on without them`]);
  });
});
