/**
 * Fits retrieval and answer settings on a SQuAD-format file (the figures behind the defaults in
 * src/core/retrieve.ts and src/core/store/lexical-index.ts).
 *
 *   npx tsx scripts/tune-retrieval.ts ../shared/eval/squadshifts/new_wiki_v1.0.json --sample 800 --data /tmp/tune
 *
 * --data keeps the embedded index between runs.
 */
import { normalizeWhitespace } from '../src/core/chunk.js';
import { createEmbedder } from '../src/core/embed/create-embedder.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { readSquad, sampleEvenly } from '../src/cli/eval-qa.js';
import { parseCli } from '../src/cli/args.js';

const { values, positionals } = parseCli('usage: tune-retrieval.ts FILE [--sample N] [--data DIR] [--model bundled] [--thresholds-only]', {
  'thresholds-only': { type: 'boolean' },
  sample: { type: 'string' },
  data: { type: 'string' },
  model: { type: 'string' },
});
const file = positionals[0];
const dataDir = values.data ?? '/tmp/tune-retrieval';
const embedder = await createEmbedder({ model: values.model ?? 'bundled', modelsDir: 'models', quantized: true, loadTimeoutMs: 5000 }, console.log);
const { articles, questions: all } = readSquad(file);
const questions = sampleEvenly(all, values.sample ? Number(values.sample) : 800);

let kb = await KnowledgeBase.open({ dataDir, embedder });
await kb.ingest(articles);
const vectors = await embedder.embed(questions.map((q) => q.question));
await kb.close();

const isGold = (title: string, text: string, q: (typeof questions)[number]) => {
  const gold = normalizeWhitespace(q.context);
  return title === normalizeWhitespace(q.title) && (gold.includes(text) || text.includes(gold));
};

for (const titleBoost of values['thresholds-only'] ? [] : [0, 0.5, 1]) {
  for (const k1 of [1.2]) {
    for (const b of [0.75]) {
      kb = await KnowledgeBase.open({ dataDir, embedder, lexical: { titleBoost, k1, b } });
      for (const denseWeight of [0, 0.2, 0.3, 0.4, 0.5]) {
        let hit1 = 0;
        let hit5 = 0;
        for (let i = 0; i < questions.length; i++) {
          const { passages } = await kb.retrieve(questions[i].question, { topK: 5, queryVector: vectors[i], fusion: { denseWeight } });
          const rank = passages.findIndex((p) => isGold(p.articleTitle, p.passage.text, questions[i]));
          if (rank === 0) hit1++;
          if (rank >= 0) hit5++;
        }
        console.log(JSON.stringify({ titleBoost, k1, b, denseWeight, hit1: hit1 / questions.length, hit5: hit5 / questions.length }));
      }
      await kb.close();
    }
  }
}

// The answer/refuse decision is fitted by scripts/fit-answer.ts, on answerable and unanswerable questions together.
await embedder.close();
