import { afterEach, describe, expect, it, vi } from 'vitest';
import { LlmClient, redactSecrets } from '../src/core/llm/client.js';
import { buildPrompt, SYSTEM_PROMPT } from '../src/core/llm/prompt.js';
import { throttle } from '../src/core/llm/throttle.js';
import { isNotFoundReply, stripThinking, verifyAnswer } from '../src/core/llm/verify.js';
import type { ScoredPassage } from '../src/core/types.js';

const EXCERPTS = [
  'The talks took place in Qatar in March, a departure from the U.S. stance.',
  'Adam Boehler, a senior U.S. official, pushed for an agreement.',
  'Much of the dialogue was overshadowed by tariffs and Iranian diplomacy.',
];

describe('verifyAnswer', () => {
  it('keeps cited sentences, renumbers by first citation, and lists only cited passages', () => {
    const v = verifyAnswer('Boehler pushed for an agreement [2]. The talks in Qatar saw Boehler push [1][2].', EXCERPTS);
    expect(v).toEqual({
      kind: 'answer',
      text: 'Boehler pushed for an agreement [1]. The talks in Qatar saw Boehler push [2][1].',
      cited: [2, 1],
      droppedSentences: [],
      strippedCitations: [],
    });
  });

  it('reads [1, 2], [1-2], [Passage 3] and citations after the full stop', () => {
    expect(verifyAnswer('The talks were in Qatar and Boehler pushed [1, 2].', EXCERPTS)).toMatchObject({ text: 'The talks were in Qatar and Boehler pushed [1][2].', cited: [1, 2] });
    expect(verifyAnswer('The talks were in Qatar and Boehler pushed [1-2].', EXCERPTS)).toMatchObject({ cited: [1, 2] });
    expect(verifyAnswer('Tariffs overshadowed the dialogue [Passage 3].', EXCERPTS)).toMatchObject({ text: 'Tariffs overshadowed the dialogue [1].', cited: [3] });
    expect(verifyAnswer('The talks were in Qatar. [1] Boehler pushed for it.[2]', EXCERPTS)).toMatchObject({
      text: 'The talks were in Qatar [1]. Boehler pushed for it [2].',
      cited: [1, 2],
    });
    // An abbreviation keeps its dot.
    expect(verifyAnswer('Boehler was a senior official of the U.S. [2]', EXCERPTS)).toMatchObject({ text: 'Boehler was a senior official of the U.S. [1].' });
  });

  it('strips numbers that point at no passage or at an unrelated one, and drops what is left uncited', () => {
    const v = verifyAnswer('The talks were in Qatar [1][4]. Hamas released everyone [0]. Tariffs mattered [2].', EXCERPTS);
    expect(v).toMatchObject({ kind: 'answer', text: 'The talks were in Qatar [1].', cited: [1], strippedCitations: [4, 0, 2] });
    expect(v.kind === 'answer' && v.droppedSentences).toEqual(['Hamas released everyone.', 'Tariffs mattered.']);
    // Without the overlap check, a related-or-not valid number is kept.
    expect(verifyAnswer('Tariffs mattered [2].', EXCERPTS, { requireOverlap: false })).toMatchObject({ kind: 'answer', cited: [2] });
  });

  it('signals a fallback when nothing cited remains, or the reply is empty', () => {
    expect(verifyAnswer('The talks were in Qatar.', EXCERPTS)).toMatchObject({ kind: 'fallback', reason: 'no sentence cites a passage' });
    expect(verifyAnswer('Qatar [7].', EXCERPTS)).toMatchObject({ kind: 'fallback', strippedCitations: [7] });
    expect(verifyAnswer('  <think>hmm</think>  ', EXCERPTS)).toMatchObject({ kind: 'fallback', reason: 'empty reply' });
  });

  it('detects "not in the knowledge base" in its usual shapes, but not inside a cited answer', () => {
    for (const reply of ['not in the knowledge base', 'Not in the knowledge base.', '"Not in the knowledge base."', '**Not in the knowledge base**', 'Sorry, that is not in the knowledge base.', 'The passages do not mention the score.']) {
      expect(verifyAnswer(reply, EXCERPTS)).toEqual({ kind: 'not-found' });
    }
    expect(isNotFoundReply('The talks were in Qatar [1]; the date is not in the knowledge base.', 3)).toBe(false);
    const partial = verifyAnswer('The talks were in Qatar [1]. Their cost is not in the knowledge base.', EXCERPTS);
    expect(partial).toMatchObject({ kind: 'answer', text: 'The talks were in Qatar [1]. Their cost is not in the knowledge base.', cited: [1] });
  });

  it('removes reasoning blocks and light markdown; partial mode leaves out the unfinished sentence', () => {
    expect(stripThinking('<think>the passages say Qatar</think>Qatar [1].')).toBe('Qatar [1].');
    expect(stripThinking('<think>still thinking')).toBe('');
    expect(verifyAnswer('<think>x</think>\n- **Qatar** hosted the talks [1].\n- Boehler pushed [2].', EXCERPTS)).toMatchObject({
      text: 'Qatar hosted the talks [1]. Boehler pushed [2].',
    });
    expect(verifyAnswer('Qatar hosted the talks [1]. Boehler pus', EXCERPTS, { partial: true })).toMatchObject({ text: 'Qatar hosted the talks [1].' });
    expect(verifyAnswer('Qatar hosted the talks [1', EXCERPTS, { partial: true })).toMatchObject({ kind: 'fallback' });
  });
});

function passage(i: number, text: string, title = `Article ${i}`): ScoredPassage {
  return { passage: { id: `a${i}#1`, articleId: `a${i}`, paragraph: 1, text, hash: 'h' }, articleTitle: title, score: 1 / (i + 1) };
}

describe('buildPrompt', () => {
  const long = Array.from({ length: 30 }, (_, i) => `Sentence number ${i + 1} says something about the talks in Qatar.`).join(' ');

  it('numbers passages with titles, cuts at sentence ends within the cap, and says what it left out', () => {
    const built = buildPrompt({ question: 'Where?', passages: [passage(0, long), passage(1, long)], maxContextChars: 2000 });
    expect(built.chars).toBeLessThanOrEqual(2000);
    expect(built.chars).toBe(built.messages.reduce((n, m) => n + m.content.length, 0));
    expect(built.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(built.messages[1].content.startsWith('Passages:\n[1] Article 0\nSentence number 1 says')).toBe(true);
    expect(built.excerpts[0]).toMatch(/Qatar\.$/);
    expect(long.startsWith(built.excerpts[0])).toBe(true);
    expect(built.cut).toBe(1);
    expect(built.leftOut).toBe(1);

    // A passage too long for what is left is skipped; a shorter, lower-ranked one still gets in.
    const giant = `${'word '.repeat(400)}end.`;
    const mixed = buildPrompt({ question: 'Where?', passages: [passage(0, 'Talks were held in Qatar.'), passage(1, giant), passage(2, 'Short one.')], maxContextChars: 1500 });
    expect(mixed.passages.map((p) => p.passage.id)).toEqual(['a0#1', 'a2#1']);
    expect(mixed.messages[1].content).toContain('[1] Article 0\nTalks were held in Qatar.\n\n[2] Article 2\nShort one.');
    expect(mixed).toMatchObject({ cut: 0, leftOut: 1 });
  });

  it('cuts a single giant sentence at a word rather than losing the top passage', () => {
    const giant = `${'word '.repeat(3000)}end.`;
    const built = buildPrompt({ question: 'What?', passages: [passage(0, giant)], maxContextChars: 1500 });
    expect(built.passages).toHaveLength(1);
    expect(built.excerpts[0].endsWith('…')).toBe(true);
    expect(built.chars).toBeLessThanOrEqual(1500);
  });

  it('includes earlier turns (newest kept first, markers removed) within a share of the budget', () => {
    const built = buildPrompt({
      question: 'And who led them?',
      passages: [passage(0, 'Boehler led the talks.')],
      history: ['Where were the talks?', { question: 'When?', answer: 'In March [1][2].' }],
    });
    expect(built.messages[1].content).toContain('Earlier in this conversation:\nQ: Where were the talks?\nQ: When?\nA: In March.\n\nQuestion: And who led them?');
    expect(built.messages).toHaveLength(2);
  });

  it('caps the number of passages', () => {
    const built = buildPrompt({ question: 'Q?', passages: Array.from({ length: 10 }, (_, i) => passage(i, `Text ${i}.`)), maxPassages: 4 });
    expect(built.passages).toHaveLength(4);
    expect(built.leftOut).toBe(0);
  });
});

describe('throttle', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers at most once per interval, always the latest value, and the final one', async () => {
    vi.useFakeTimers();
    const seen: { at: number; value: number }[] = [];
    const t0 = Date.now();
    const edit = throttle((value: number) => void seen.push({ at: Date.now() - t0, value }), 1000);
    // 50 tokens over 2.45 s (one every 50 ms).
    for (let i = 1; i <= 50; i++) {
      edit(i);
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen[0]).toEqual({ at: 0, value: 1 });
    for (let i = 1; i < seen.length; i++) expect(seen[i].at - seen[i - 1].at).toBeGreaterThanOrEqual(1000);
    expect(seen.at(-1)!.value).toBe(50);
    // At 0 s, 1 s and 2 s, then the last value (sent at 2.45 s) at 3 s.
    expect(seen.map((s) => s.at)).toEqual([0, 1000, 2000, 3000]);
    expect(edit.deliveries).toBe(seen.length);
  });

  it('waits for a slow delivery before the next one, flush() resolves after the final value, cancel() drops it', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    let calls = 0;
    const edit = throttle(async (v: string) => {
      calls++;
      await new Promise((r) => setTimeout(r, 1500)); // a slow HTTP edit
      seen.push(v);
    }, 1000);
    edit('a');
    edit('b');
    edit('c');
    const flushed = edit.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1); // 'a' still in flight
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toBe(2); // 'c' started once 'a' settled
    await vi.advanceTimersByTimeAsync(1500);
    await flushed;
    expect(seen).toEqual(['a', 'c']);

    edit('d'); // delivered at once (more than 1 s since 'c' started)
    edit('e');
    const cancelled = edit.cancel(); // waits for 'd', drops 'e'
    await vi.advanceTimersByTimeAsync(5000);
    await cancelled;
    expect(seen).toEqual(['a', 'c', 'd']);
  });

  it('keeps going after a failed delivery', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    const seen: number[] = [];
    const edit = throttle(
      (v: number) => {
        if (v === 1) throw new Error('429');
        seen.push(v);
      },
      1000,
      { onError: (e) => errors.push(e) },
    );
    edit(1);
    edit(2);
    await vi.advanceTimersByTimeAsync(1000);
    await edit.flush();
    expect(errors).toHaveLength(1);
    expect(seen).toEqual([2]);
  });
});

describe('LlmClient stream parsing', () => {
  /** A fetch that answers with these byte chunks as an event stream. */
  function fetchOf(pieces: string[], type = 'text/event-stream'): typeof fetch {
    return (async () => {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of pieces) c.enqueue(enc.encode(p));
          c.close();
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': type } });
    }) as typeof fetch;
  }
  const ev = (content: string) => `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}}}]}`;

  it('handles CRLF, comments, events split across reads, a missing [DONE] and a stream error', async () => {
    const whole = `: ping\r\n\r\n${ev('Hel')}\r\n\r\n${ev('lo ')}\n\n${ev('wörld')}\n\ndata: {"choices":[{"delta":{},"finish_reason":"length"}]}\n\n`;
    // Split every 7 bytes, including inside multi-byte characters.
    const bytes = new TextEncoder().encode(whole);
    const splitFetch = (async () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
          c.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const deltas: string[] = [];
    const c = new LlmClient({ baseUrl: 'http://llm.test/v1/', model: 'm' }, { fetch: splitFetch });
    const out = await c.stream([{ role: 'user', content: 'x' }], { onDelta: (d) => deltas.push(d) });
    expect(out.text).toBe('Hello wörld');
    expect(out.finishReason).toBe('length');
    expect(deltas).toEqual(['Hel', 'lo ', 'wörld']);

    const bad = new LlmClient({ baseUrl: 'http://llm.test/v1', model: 'm' }, { fetch: fetchOf([`${ev('a')}\n\n`, 'data: {"error":{"message":"model overloaded"}}\n\n']) });
    await expect(bad.stream([{ role: 'user', content: 'x' }])).rejects.toMatchObject({ kind: 'bad-response', message: expect.stringContaining('model overloaded') });
  });

  it('redacts keys and bearer tokens from server text', () => {
    expect(redactSecrets('key sk-abcdef123456 and Bearer xyz.abc and MYSECRETKEY', 'MYSECRETKEY')).toBe('key [redacted] and Bearer [redacted] and [redacted]');
  });
});
