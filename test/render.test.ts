import { describe, expect, it } from 'vitest';
import type { APIEmbed } from 'discord.js';
import type { AskResult, Source } from '../src/core/types.js';
import {
  LIMITS,
  neutralizeMentions,
  renderAnswer,
  renderCooldown,
  renderError,
  renderNoAnswer,
  renderNotice,
  renderPassages,
  renderTimeout,
  sourceLabel,
  threadName,
  truncate,
  type MessagePayload,
} from '../src/bot/render.js';

/** Discord's checks, written independently of render.ts (what the API would reject). */
function assertWithinDiscordLimits(payload: MessagePayload): void {
  expect(payload.allowedMentions).toEqual({ parse: [] });
  if (payload.content !== undefined) expect(payload.content.length).toBeLessThanOrEqual(2000);
  const embeds = payload.embeds ?? [];
  expect(embeds.length).toBeLessThanOrEqual(10);
  let total = 0;
  for (const e of embeds as APIEmbed[]) {
    expect(e.title?.length ?? 0).toBeLessThanOrEqual(256);
    expect(e.description?.length ?? 0).toBeLessThanOrEqual(4096);
    expect(e.footer?.text.length ?? 0).toBeLessThanOrEqual(2048);
    expect(e.fields?.length ?? 0).toBeLessThanOrEqual(25);
    total += (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0) + (e.author?.name.length ?? 0);
    for (const f of e.fields ?? []) {
      expect(f.name.length).toBeGreaterThan(0);
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.name.length).toBeLessThanOrEqual(256);
      expect(f.value.length).toBeLessThanOrEqual(1024);
      total += f.name.length + f.value.length;
    }
  }
  expect(total).toBeLessThanOrEqual(6000);
  for (const row of payload.components ?? []) {
    expect(row.components.length).toBeLessThanOrEqual(5);
    for (const c of row.components) expect(c.custom_id.length).toBeLessThanOrEqual(100);
  }
}

function source(n: number, over: Partial<Source> = {}): Source {
  return {
    n,
    passageId: `article-${n}#${n}`,
    articleId: `article-${n}`,
    title: `Article ${n}`,
    paragraph: n,
    text: `Passage ${n} text.`,
    score: 1,
    ...over,
  };
}

function result(over: Partial<AskResult> = {}): AskResult {
  return {
    question: 'Where did the talks take place?',
    answered: true,
    answer: 'The talks took place in Qatar in March. [1]',
    sources: [source(1, { title: 'Hamas and U.S. Efforts', paragraph: 4, url: 'https://example.com/a' })],
    suggestions: [],
    timings: { embed: 1, search: 1, compose: 1, total: 3 },
    passages: [],
    ...over,
  };
}

describe('renderAnswer', () => {
  it('puts the answer in the description, numbered sources as fields, buttons, no mentions', () => {
    const payload = renderAnswer(
      result({ sources: [source(1, { title: 'Hamas and U.S. Efforts', paragraph: 4, url: 'https://example.com/a' }), source(2)] }),
      { questionId: 42 },
    );
    const embed = payload.embeds![0]!;
    expect(embed.title).toBe('Where did the talks take place?');
    expect(embed.description).toBe('The talks took place in Qatar in March. [1]');
    expect(embed.fields).toEqual([
      { name: '[1]', value: '[Hamas and U.S. Efforts ¶ 4](<https://example.com/a>)' },
      { name: '[2]', value: 'Article 2 ¶ 2' },
    ]);
    expect(payload.allowedMentions).toEqual({ parse: [] });
    const ids = payload.components![0]!.components.map((c) => c.custom_id);
    expect(ids).toEqual(['passages:42', 'feedback:up:42', 'feedback:down:42']);
    assertWithinDiscordLimits(payload);
  });

  it('has no buttons without a stored question id', () => {
    expect(renderAnswer(result()).components).toEqual([]);
  });

  it('description limit (4,096): a very long answer is cut with …', () => {
    const payload = renderAnswer(result({ answer: 'word '.repeat(3000) + '[1]' }), { questionId: 1 });
    const d = payload.embeds![0]!.description!;
    expect(d.length).toBeLessThanOrEqual(LIMITS.embedDescription);
    expect(d.length).toBeGreaterThan(4000);
    expect(d.endsWith('…')).toBe(true);
    assertWithinDiscordLimits(payload);
  });

  it('title limit (256): a long question is cut', () => {
    const payload = renderAnswer(result({ question: 'why '.repeat(300) }));
    expect(payload.embeds![0]!.title!.length).toBeLessThanOrEqual(256);
    expect(payload.embeds![0]!.title!.endsWith('…')).toBe(true);
    assertWithinDiscordLimits(payload);
  });

  it('field value limit (1,024): a huge title or URL still makes a valid field', () => {
    const long = source(1, { title: 'T'.repeat(3000), url: `https://example.com/${'p'.repeat(990)}` });
    const payload = renderAnswer(result({ sources: [long] }));
    const value = payload.embeds![0]!.fields![0]!.value;
    expect(value.length).toBeLessThanOrEqual(LIMITS.fieldValue);
    expect(value.endsWith(' ¶ 1')).toBe(true); // URL too long to fit with a title: plain text
    const linked = renderAnswer(result({ sources: [source(1, { title: 'T'.repeat(3000), url: 'https://example.com/a' })] }));
    const linkedValue = linked.embeds![0]!.fields![0]!.value;
    expect(linkedValue.length).toBeLessThanOrEqual(LIMITS.fieldValue);
    expect(linkedValue).toMatch(/^\[T+… ¶ 1\]\(<https:\/\/example\.com\/a>\)$/);
    assertWithinDiscordLimits(payload);
  });

  it('field count limit (25): sources beyond 25 are dropped and counted in the footer', () => {
    const sources = Array.from({ length: 40 }, (_, i) => source(i + 1));
    const payload = renderAnswer(result({ sources }), { questionId: 1 });
    const embed = payload.embeds![0]!;
    expect(embed.fields).toHaveLength(25);
    expect(embed.fields![24]!.name).toBe('[25]');
    expect(embed.footer?.text).toContain('+15 more sources');
    assertWithinDiscordLimits(payload);
  });

  it('total limit (6,000): long description + many long sources stay under 6,000', () => {
    const sources = Array.from({ length: 20 }, (_, i) => source(i + 1, { title: `Title ${i} `.repeat(90), url: `https://example.com/${i}` }));
    const payload = renderAnswer(result({ question: 'q'.repeat(400), answer: 'x'.repeat(5000), sources }), {
      questionId: 1,
      hint: 'h'.repeat(500),
    });
    const embed = payload.embeds![0]!;
    expect(embed.fields!.length).toBeGreaterThan(0);
    expect(embed.fields!.length).toBeLessThan(20);
    expect(embed.footer?.text).toMatch(/more sources/);
    assertWithinDiscordLimits(payload);
  });

  it('quoted text can never ping: mentions neutralised, allowedMentions empty', () => {
    const payload = renderAnswer(
      result({
        question: 'hey @everyone <@123456789012345678>?',
        answer: 'As @here said to <@!123456789012345678> and <@&987654321098765432>: talks were in Qatar. [1]',
        sources: [source(1, { title: '@everyone read this' })],
      }),
    );
    const embed = payload.embeds![0]!;
    const all = [embed.title, embed.description, ...(embed.fields ?? []).map((f) => f.value)].join('\n');
    expect(all).not.toMatch(/@(everyone|here)/);
    expect(all).not.toMatch(/<@[!&]?\d/);
    expect(embed.description).toContain('Qatar');
    expect(payload.allowedMentions).toEqual({ parse: [] });
  });

  it('escapes markdown in titles so a source stays one link', () => {
    expect(sourceLabel({ title: 'A [weird] *title*', paragraph: 2, url: 'https://x.org/a' })).toBe(
      '[A \\[weird\\] \\*title\\* ¶ 2](<https://x.org/a>)',
    );
    // Not a web URL: plain text, no link.
    expect(sourceLabel({ title: 'Local file', paragraph: 1, url: 'file:///etc/passwd' })).toBe('Local file ¶ 1');
    expect(sourceLabel({ title: 'Odd', paragraph: 1, url: 'https://x.org/a> [evil](https://y' })).toBe('Odd ¶ 1');
    expect(sourceLabel({ title: 'Wiki', paragraph: 1, url: 'https://en.wikipedia.org/wiki/Doha_(city)' })).toBe(
      '[Wiki ¶ 1](<https://en.wikipedia.org/wiki/Doha_(city)>)',
    );
  });
});

describe('other views', () => {
  it('no answer: says so and suggests the closest articles', () => {
    const payload = renderNoAnswer({
      question: 'Best sourdough recipe?',
      suggestions: [
        { articleId: 'a', title: 'Hamas and U.S. Efforts', url: 'https://example.com/a' },
        { articleId: 'b', title: 'No URL article' },
      ],
    });
    const d = payload.embeds![0]!.description!;
    expect(d).toMatch(/couldn't find an answer/);
    expect(d).toContain('• [Hamas and U.S. Efforts](<https://example.com/a>)');
    expect(d).toContain('• No URL article');
    expect(payload.components).toEqual([]);
    assertWithinDiscordLimits(payload);
  });

  it('content limit (2,000): notices are cut and never ping', () => {
    const payload = renderNotice(`@everyone ${'long '.repeat(1000)}`);
    expect(payload.content!.length).toBeLessThanOrEqual(LIMITS.content);
    expect(payload.content!.endsWith('…')).toBe(true);
    expect(payload.content).not.toMatch(/@everyone/);
    assertWithinDiscordLimits(payload);
  });

  it('error, time-out and cooldown views are short text that replaces embeds and buttons', () => {
    const error = renderError('ab12cd34');
    expect(error.content).toContain('ab12cd34');
    expect(error).toMatchObject({ embeds: [], components: [] });
    expect(renderTimeout(20_000).content).toMatch(/took too long \(more than 20 s\)/);
    expect(renderCooldown(2300).content).toMatch(/wait 3 s/);
    for (const p of [error, renderTimeout(1), renderCooldown(1)]) assertWithinDiscordLimits(p);
  });

  it('passages: one embed each, spread over messages within 10 embeds / 6,000 characters', () => {
    const sources = Array.from({ length: 8 }, (_, i) => ({
      ...source(i + 1, { text: `${i} `.repeat(2500), url: i % 2 ? 'https://example.com/x' : undefined }),
    }));
    const pages = renderPassages(sources);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flatMap((p) => p.embeds ?? [])).toHaveLength(8);
    for (const p of pages) assertWithinDiscordLimits(p);
    const first = pages[0]!.embeds![0]!;
    expect(first.title).toBe('[1] Article 1 ¶ 1');
    expect(first.description!.length).toBeLessThanOrEqual(4096);
    expect(pages.flatMap((p) => p.embeds!)[1]!.url).toBe('https://example.com/x');

    const small = renderPassages(Array.from({ length: 12 }, (_, i) => source(i + 1)));
    expect(small.map((p) => p.embeds!.length)).toEqual([10, 2]);
  });

  it('truncate keeps surrogate pairs whole, and thread names fit 100 characters', () => {
    const t = truncate('😀'.repeat(10), 6);
    expect(t.length).toBeLessThanOrEqual(6);
    expect(t).toBe('😀😀…');
    expect(threadName('a '.repeat(200)).length).toBeLessThanOrEqual(100);
    expect(neutralizeMentions('@here <@1> <@!2> <@&3>')).toBe('@\u200bhere <@\u200b1> <@\u200b!2> <@\u200b&3>');
  });
});
