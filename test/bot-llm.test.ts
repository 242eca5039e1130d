/**
 * Written answers in Discord, end to end: the real discord.js Client (through startBot) against the
 * local fake Discord, a real KnowledgeBase (HashEmbedder) holding the seed article, and the fake
 * OpenAI-compatible server (both on 127.0.0.1). Assertions are on what a member would see: the
 * drafts edited in while the model streams (at most one a second, no buttons), then one final edit
 * with the checked answer, exactly its cited sources and the buttons; the extractive answer
 * whenever the model fails or is too slow; nothing ever pings.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningBot, StartBotOptions } from '../src/bot/client.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { RawArticle } from '../src/core/types.js';
import { bootBot, capturedJsonLogger } from './helpers/boot-bot.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord, snowflake, type RecordedRequest } from './helpers/fake-discord.js';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest as ModelRequest } from './helpers/fake-openai.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';
const WHERE = 'Where did the talks between the U.S. and Hamas take place?';
const WHO = 'who pushed for the agreement?';
const ZWSP = '\u200b';

let articles: RawArticle[];
let model: FakeOpenAI;
beforeAll(async () => {
  articles = (await loadDirectory('knowledge')).articles;
  model = await startFakeOpenAI();
});
afterAll(async () => {
  await model.close();
});
beforeEach(() => {
  model.requests.length = 0;
  model.respond = undefined;
});

const stopAfterTest = cleanUpAfterEach();

interface Booted {
  fake: FakeDiscord;
  bot: RunningBot;
  logs: Record<string, unknown>[];
}

async function boot(env: Record<string, string> = {}, options: StartBotOptions = {}): Promise<Booted> {
  const { logger, logs } = capturedJsonLogger('debug');
  const { fake, bot, stop } = await bootBot({
    tempPrefix: 'bot-llm-test-',
    knowledge: { articles },
    setGuildId: true,
    env: { LLM_BASE_URL: model.baseUrl, LLM_MODEL: 'fake-model', LLM_API_KEY: 'sk-test-SECRET-0123456789abcdef', ...env },
    logger,
    start: options,
  });
  stopAfterTest(stop);
  return { fake, bot, logs };
}

/** The number [n] the prompt gave the passage containing `word` (the order comes from retrieval). */
function numberOf(req: ModelRequest, word: string): number {
  const user = req.body.messages?.find((m) => m.role === 'user')?.content ?? '';
  for (const m of user.matchAll(/^\[(\d+)\] [^\n]*\n([^\n]*)/gm)) if (m[2]!.includes(word)) return Number(m[1]);
  throw new Error(`no passage with "${word}" in the prompt:\n${user}`);
}

/** The model's reply, streamed word by word with `chunkDelayMs` between words. */
function streamed(write: (q: number, b: number) => string, chunkDelayMs: number) {
  return (req: ModelRequest) => ({ text: write(numberOf(req, 'Qatar'), numberOf(req, 'Boehler')), chunkDelayMs });
}

const embedOf = (r: RecordedRequest) => r.body.embeds?.[0];
const isDraft = (r: RecordedRequest) => embedOf(r)?.footer?.text === 'Writing…';
const hasButtons = (r: RecordedRequest) => (r.body.components?.[0]?.components?.length ?? 0) > 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Consecutive drafts are at least ~1 s apart (a little slack for the trip to the fake). */
function expectThrottled(drafts: RecordedRequest[]) {
  for (let i = 1; i < drafts.length; i++) expect(drafts[i]!.at - drafts[i - 1]!.at).toBeGreaterThanOrEqual(900);
}

function expectDraft(r: RecordedRequest) {
  const embed = embedOf(r);
  expect(embed.title).toBe(WHERE);
  expect(embed.fields).toBeUndefined(); // no sources yet
  expect(r.body.components ?? []).toEqual([]); // no buttons yet
  expect(embed.description).not.toMatch(/@everyone/);
  expect(r.body.allowed_mentions).toEqual({ parse: [] });
}

describe('/ask with a language model', () => {
  it('streams drafts (≤ 1 a second, no buttons), then one final edit with the checked answer, exactly its sources and the buttons; @everyone never pings', async () => {
    const { fake, logs } = await boot();
    model.respond = streamed(
      (q, b) =>
        `The talks between the United States and Hamas that @everyone followed took place in Qatar in March [${q}]. ` +
        `Adam Boehler pushed for an agreement [${b}]. ` +
        `He wanted President Trump to announce the release of Edan Alexander [${b}]. ` +
        `These unprecedented talks marked a significant departure [${q}][9]. ` +
        // Checked while the previous draft is less than a second old: still pending when the
        // stream ends, so it must be dropped rather than land on top of the final answer.
        `The talks took place in March [${q}].`,
      50,
    );
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const original = `/webhooks/${fake.applicationId}/${sent.token}/messages/@original`;
    const final = await fake.waitForRequest((r) => r.method === 'PATCH' && r.path === original && hasButtons(r), 8000);
    await sleep(1100); // a late draft would arrive within the throttle interval
    const patches = fake.requestsMatching('PATCH', original);

    // Drafts first, throttled, without sources or buttons; the final edit is the last one.
    const drafts = patches.filter(isDraft);
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    expect(patches.at(-1)).toBe(final);
    expect(patches.filter((r) => !isDraft(r))).toEqual([final]);
    for (const d of drafts) expectDraft(d);
    expectThrottled(drafts);
    // Only checked whole sentences are drafted, with their final numbers; @everyone is neutralised.
    expect(embedOf(drafts[0]!).description).toBe(`The talks between the United States and Hamas that @${ZWSP}everyone followed took place in Qatar in March [1].`);
    for (const p of patches) expect(p.body.allowed_mentions).toEqual({ parse: [] });

    // The final answer: renumbered citations, the invented [9] gone, @everyone neutralised.
    const embed = embedOf(final);
    expect(embed.title).toBe(WHERE);
    expect(embed.description).toBe(
      `The talks between the United States and Hamas that @${ZWSP}everyone followed took place in Qatar in March [1]. ` +
        'Adam Boehler pushed for an agreement [2]. ' +
        'He wanted President Trump to announce the release of Edan Alexander [2]. ' +
        'These unprecedented talks marked a significant departure [1]. ' +
        'The talks took place in March [1].',
    );
    expect(embed.fields).toEqual([
      { name: '[1]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 4` },
      { name: '[2]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 3` },
    ]);
    expect(embed.footer).toBeUndefined();
    const ids = final.body.components[0].components.map((c: { custom_id: string }) => c.custom_id);
    expect(ids).toEqual([expect.stringMatching(/^passages:\d+$/), expect.stringMatching(/^feedback:up:\d+$/), expect.stringMatching(/^feedback:down:\d+$/)]);
    expect(fake.interaction(sent.token)?.original?.embeds?.[0]?.description).toBe(embed.description);

    // One streamed request; "Show passages" lists exactly the two cited passages.
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]!.body).toMatchObject({ model: 'fake-model', stream: true });
    const show = await fake.sendButton({ customId: ids[0], messageId: fake.interaction(sent.token)!.original!.id });
    const passages = (await show.waitForCallback()).body.data.embeds;
    expect(passages.map((p: { title: string }) => p.title)).toEqual([`[1] ${SEED_TITLE} ¶ 4`, `[2] ${SEED_TITLE} ¶ 3`]);

    // Logged: the mode and the model, never the key, the question or the answer.
    const line = logs.find((l) => l.msg === 'question answered');
    expect(line).toMatchObject({ level: 30, mode: 'written', model: 'fake-model', streamed: true, sources: 2, strippedCitations: 1 });
    const all = JSON.stringify(logs);
    expect(all).not.toContain('SECRET');
    expect(all).not.toContain(WHERE);
    expect(all).not.toContain('Edan Alexander');
  });

  it('model HTTP 500: the final edit is the extractive answer, with no draft before it; the reason is logged', async () => {
    const { fake, logs } = await boot();
    model.respond = () => ({ status: 500 });
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    const edit = await sent.waitForEditOriginal();
    expect(embedOf(edit).description).toContain('Qatar');
    expect(embedOf(edit).fields).toEqual([{ name: '[1]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 4` }]);
    expect(hasButtons(edit)).toBe(true);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(model.requests).toHaveLength(1);
    await sleep(50);
    expect(fake.requestsMatching('PATCH', /@original$/)).toEqual([edit]);
    expect(logs.find((l) => l.msg === 'question answered')).toMatchObject({
      level: 40,
      mode: 'extractive',
      fallbackReason: expect.stringMatching(/^http: .*HTTP 500/),
    });
  });

  it('a model that hangs: the extractive answer arrives before the answer time-out, not "took too long"', async () => {
    const { fake, logs } = await boot({}, { settings: { answerTimeoutMs: 1500 } });
    model.respond = () => ({ hang: true });
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    const callback = await sent.waitForCallback();
    const edit = await sent.waitForEditOriginal(4000);
    expect(edit.at - callback.at).toBeLessThan(1500);
    expect(edit.body.content ?? '').not.toMatch(/took too long/);
    expect(embedOf(edit).description).toContain('Qatar');
    expect(hasButtons(edit)).toBe(true);
    expect(model.requests).toHaveLength(1);
    expect(logs.find((l) => l.msg === 'question answered')).toMatchObject({ mode: 'extractive', fallbackReason: expect.stringMatching(/^aborted/) });
  });
});

describe('mentions and threads with a language model', () => {
  it('a mention is answered in its thread by one message, drafted then finalised; a follow-up mention gets the thread as history', async () => {
    const { fake } = await boot();
    model.respond = streamed(
      (q, b) => `The talks took place in Qatar in March [${q}]. Adam Boehler pushed for an agreement [${b}]. @here it was a departure from the usual stance [${q}].`,
      60,
    );
    const question = await fake.sendMessage({ content: WHERE, mentionsBot: true });
    const created = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${fake.channelId}/messages/${question.id}/threads`);
    const threadId = (created.response as { id: string }).id;

    // The first post is a draft; the same message is then edited into the final answer.
    const posted = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`);
    expect(isDraft(posted)).toBe(true);
    expect(posted.body.components ?? []).toEqual([]);
    expect(posted.body.allowed_mentions).toEqual({ parse: [] });
    const messageId = (posted.response as { id: string }).id;
    const path = `/channels/${threadId}/messages/${messageId}`;
    const final = await fake.waitForRequest((r) => r.method === 'PATCH' && r.path === path && hasButtons(r), 8000);
    const edits = fake.requestsMatching('PATCH', path);
    expect(edits.at(-1)).toBe(final);
    expectThrottled([posted, ...edits.filter(isDraft)]);
    for (const e of edits) expect(e.body.allowed_mentions).toEqual({ parse: [] });
    expect(fake.requestsMatching('POST', `/channels/${threadId}/messages`)).toHaveLength(1); // never a second, half message

    const shown = fake.getMessage(threadId, messageId)!;
    expect(shown.embeds[0]!.description).toBe(
      `The talks took place in Qatar in March [1]. Adam Boehler pushed for an agreement [2]. @${ZWSP}here it was a departure from the usual stance [1].`,
    );
    expect(shown.embeds[0]!.fields).toEqual([
      { name: '[1]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 4` },
      { name: '[2]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 3` },
    ]);
    expect(shown.embeds[0]!.footer?.text).toMatch(/Mention @ArticleBot in this thread/);
    expect(shown.components).toHaveLength(1);

    // A follow-up mention in the thread: the model sees the thread's first question.
    model.respond = streamed((_q, b) => `Adam Boehler pushed for an agreement [${b}]. He wanted Edan Alexander released [${b}].`, 20);
    const before = fake.requests.length;
    const followUp = await fake.sendMessage({ content: WHO, threadOf: question.id, mentionsBot: true, authorId: snowflake() });
    const reply = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`, 5000, { fromIndex: before });
    expect(reply.body.message_reference).toMatchObject({ message_id: followUp.id });
    expect(reply.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    const replyId = (reply.response as { id: string }).id;
    await fake.waitForRequest((r) => r.method === 'PATCH' && r.path === `/channels/${threadId}/messages/${replyId}` && hasButtons(r), 5000);
    const answer = fake.getMessage(threadId, replyId)!;
    expect(answer.embeds[0]!.description).toBe('Adam Boehler pushed for an agreement [1]. He wanted Edan Alexander released [1].');
    expect(answer.embeds[0]!.fields).toEqual([{ name: '[1]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 3` }]);
    expect(fake.requestsMatching('POST', `/channels/${threadId}/messages`)).toHaveLength(2);

    expect(model.requests).toHaveLength(2);
    const prompt = model.requests[1]!.body.messages!.find((m) => m.role === 'user')!.content;
    expect(prompt).toContain(`Earlier in this conversation:\nQ: ${WHERE}`);
    expect(prompt).toMatch(/Question: who pushed for the agreement\?$/);
  });
});
