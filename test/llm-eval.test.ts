import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatQaFigures, runQaEval } from '../src/cli/eval-qa.js';
import { LlmClient } from '../src/core/llm/client.js';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

let dir: string;
let server: FakeOpenAI;

const squad = {
  data: [
    {
      title: 'Rovers',
      paragraphs: [
        {
          context: 'Rovers won the cup final on Saturday after a late goal from their captain sealed a two-one victory at Wembley.',
          qas: [
            { id: '1', question: 'Where did Rovers win the cup final?', answers: [{ text: 'Wembley' }] },
            { id: '2', question: 'Who scored the late goal for Rovers?', answers: [{ text: 'their captain' }] },
          ],
        },
      ],
    },
    {
      title: 'Harbour',
      paragraphs: [
        {
          context: 'The new harbour bridge opened in June and carries twelve thousand cars a day across the river.',
          qas: [{ id: '3', question: 'When did the harbour bridge open?', answers: [{ text: 'June' }] }],
        },
      ],
    },
  ],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-eval-'));
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify(squad));
  server = await startFakeOpenAI();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run eval -- --qa FILE --llm', () => {
  it('reports written accuracy and the share of answers with a valid citation beside the extractive figures', async () => {
    server.respond = (req) => {
      const user = req.body.messages![1].content;
      const numbered = [...user.matchAll(/\[(\d+)\] [^\n]+\n([^\n]+)/g)];
      const find = (word: string) => numbered.find((m) => m[2].includes(word))?.[1];
      if (user.includes('Question: Where')) return { text: `Rovers won the cup final at Wembley [${find('Wembley')}].` };
      if (user.includes('Question: Who')) return { text: 'Rovers won thanks to a late goal.' }; // uncited → extractive
      return { status: 500 };
    };
    const lines: string[] = [];
    const figures = await runQaEval(join(dir, 'tiny.json'), { embedder: new HashEmbedder(), llm: new LlmClient({ baseUrl: server.baseUrl, model: 'fake' }), log: (l) => lines.push(l) });
    expect(server.requests).toHaveLength(3);
    expect(figures.written).toMatchObject({ model: 'fake', cited: 0.333, fallback: 0.667, notFound: 0 });
    expect(figures.written!.answered).toBeGreaterThanOrEqual(0.333);
    expect(lines.join('\n')).toMatch(/written answers fell back: .*http ×1/);
    const table = formatQaFigures(figures).join('\n');
    expect(table).toContain('| answers | accuracy | answered | ≥1 valid citation |');
    expect(table).toMatch(/\| written \(fake\) \| \d\.\d{3} \| [\d.]+% \| 33\.3% \| 0\.0% \| 66\.7% \|/);
  });
});
