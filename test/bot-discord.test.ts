/**
 * The Discord bot end to end: the real discord.js Client (through startBot) against the local fake
 * Discord, a real KnowledgeBase (HashEmbedder) holding the seed article, real SQLite. Assertions
 * are on what a member would see: the REST calls the bot makes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunningBot, StartBotOptions } from '../src/bot/client.js';
import type { AskOptions, KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { AskResult, RawArticle } from '../src/core/types.js';
import { bootBot, capturedJsonLogger } from './helpers/boot-bot.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord, snowflake, type RecordedRequest } from './helpers/fake-discord.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';
const WHERE = 'Where did the talks between the U.S. and Hamas take place?';

let articles: RawArticle[];
beforeAll(async () => {
  articles = (await loadDirectory('knowledge')).articles;
});

type Ask = (question: string, options?: AskOptions) => Promise<AskResult>;

interface Booted {
  fake: FakeDiscord;
  bot: RunningBot;
  kb: KnowledgeBase;
  dir: string;
  logs: Record<string, unknown>[];
  /** Every kb.ask call the bot made. */
  asks: { question: string; history: string[] }[];
  /** Replace to make the core slow or failing; receives the real ask. */
  setAsk(wrap: ((real: Ask) => Ask) | null): void;
}

const stopAfterTest = cleanUpAfterEach();

async function boot(env: Record<string, string> = {}, options: StartBotOptions = {}): Promise<Booted> {
  const { logger, logs } = capturedJsonLogger('debug');
  const asks: Booted['asks'] = [];
  let wrapper: ((real: Ask) => Ask) | null = null;
  // The bot sees the real knowledge base, except for `ask`, which tests can wrap.
  const withWrappableAsk = (kb: KnowledgeBase) => {
    const realAsk: Ask = (q, o) => kb.ask(q, o);
    const ask: Ask = (q, o = {}) => {
      asks.push({ question: q, history: o.history ?? [] });
      return (wrapper ? wrapper(realAsk) : realAsk)(q, o);
    };
    return new Proxy(kb, {
      get: (target, prop) => (prop === 'ask' ? ask : Reflect.get(target, prop, target)),
    });
  };
  const { fake, bot, kb, dir, stop } = await bootBot({
    tempPrefix: 'bot-test-',
    knowledge: { articles },
    setGuildId: true,
    env,
    logger,
    kbForBot: withWrappableAsk,
    start: options,
  });
  stopAfterTest(stop);
  return { fake, bot, kb, dir, logs, asks, setAsk: (w) => (wrapper = w) };
}

const embedOf = (r: RecordedRequest) => r.body.embeds?.[0];

describe('/ask', () => {
  it('defers within the window, then edits in an embed that cites the seed article; nothing can ping', async () => {
    const { fake } = await boot();
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });

    const callback = await sent.waitForCallback();
    expect(callback.body.type).toBe(5); // "thinking…", public
    expect(callback.body.data?.flags ?? 0).toBe(0);
    expect(callback.status).toBe(204); // inside Discord's 3-second window

    const edit = await sent.waitForEditOriginal();
    expect(edit.status).toBe(200);
    const embed = embedOf(edit);
    expect(embed.title).toBe(WHERE);
    expect(embed.description).toContain('Qatar');
    expect(embed.description).toMatch(/\[1\]/);
    expect(embed.fields[0]).toEqual({ name: '[1]', value: `${SEED_TITLE} · 10 Apr 2025 · ¶ 4` }); // no URL known: plain text
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    const ids = edit.body.components[0].components.map((c: { custom_id: string }) => c.custom_id);
    expect(ids).toEqual([expect.stringMatching(/^passages:\d+$/), expect.stringMatching(/^feedback:up:\d+$/), expect.stringMatching(/^feedback:down:\d+$/)]);
    expect(fake.interaction(sent.token)?.original?.flags ?? 0).toBe(0); // no longer loading
    expect(fake.requestsMatching('PUT', /commands$/)).toHaveLength(0); // starting the bot registers nothing
  });

  it('private:true defers ephemerally and the answer stays ephemeral', async () => {
    const { fake } = await boot();
    const sent = await fake.sendSlashCommand({
      name: 'ask',
      options: [
        { type: 3, name: 'question', value: WHERE },
        { type: 5, name: 'private', value: true },
      ],
    });
    expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(embedOf(await sent.waitForEditOriginal()).description).toContain('Qatar');
    expect(fake.interaction(sent.token)?.ephemeral).toBe(true);
    expect(fake.channelMessages()).toHaveLength(0);
  });

  it('👍 stores feedback in the store; "Show passages" replies ephemerally with the full passage and its source', async () => {
    const { fake, kb } = await boot();
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    const edit = await sent.waitForEditOriginal();
    const [passagesId, upId] = edit.body.components[0].components.map((c: { custom_id: string }) => c.custom_id);
    const messageId = fake.interaction(sent.token)!.original!.id;

    const voter = snowflake();
    const up = await fake.sendButton({ customId: upId, messageId, userId: voter });
    const upCallback = await up.waitForCallback();
    expect(upCallback.body).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] } } });
    expect(upCallback.body.data.content).toMatch(/Thanks for the 👍/);
    const rows = await kb.tenant.questions.listFeedback();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ vote: 'up', userId: voter, guildId: fake.guildId, question: WHERE });
    expect(rows[0]!.answer).toContain('Qatar');
    expect(rows[0]!.passageIds).toEqual([expect.stringMatching(/#4$/)]);
    expect(Date.parse(rows[0]!.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const show = await fake.sendButton({ customId: passagesId, messageId });
    const showCallback = await show.waitForCallback();
    expect(showCallback.body.type).toBe(4);
    expect(showCallback.body.data.flags).toBe(64);
    const passage = showCallback.body.data.embeds[0];
    expect(passage.title).toBe(`[1] ${SEED_TITLE} ¶ 4`);
    expect(passage.description).toContain('These unprecedented talks, which took place in Qatar in March');
    expect(showCallback.body.data.allowed_mentions).toEqual({ parse: [] });
  });

  it('a question with no answer says so and suggests the closest article', async () => {
    const { fake } = await boot();
    const sent = await fake.sendSlashCommand({
      name: 'ask',
      options: [{ type: 3, name: 'question', value: 'What is the best recipe for sourdough bread?' }],
    });
    const embed = embedOf(await sent.waitForEditOriginal());
    expect(embed.description).toMatch(/couldn't find an answer/);
    expect(embed.description).toContain(SEED_TITLE);
    expect(embed.fields).toBeUndefined();
  });

  it('an empty question gets an ephemeral explanation instead of a deferral', async () => {
    const { fake } = await boot();
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: '   ' }] });
    const callback = await sent.waitForCallback();
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(callback.body.data.content).toMatch(/Please type a question/);
  });

  it('cooldown: a second question too soon gets one friendly ephemeral note', async () => {
    const { fake, asks } = await boot({ ASK_COOLDOWN_SECONDS: '60' });
    const first = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    await first.waitForCallback();
    const second = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: 'and who led them?' }] });
    const note = await second.waitForCallback();
    expect(note.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(note.body.data.content).toMatch(/asking quickly.*wait (59|60) s/);
    // Another member is not affected.
    const other = await fake.sendSlashCommand({ name: 'ask', userId: snowflake(), options: [{ type: 3, name: 'question', value: WHERE }] });
    expect((await other.waitForCallback()).body.type).toBe(5);
    await first.waitForEditOriginal();
    await other.waitForEditOriginal();
    expect(asks).toHaveLength(2);
  });

  it('when the core throws: an apology with an error id, logged with context, and the bot keeps serving', async () => {
    const { fake, logs, setAsk } = await boot();
    setAsk(() => async () => {
      throw new Error('index exploded');
    });
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const edit = await sent.waitForEditOriginal();
    const errorId = /error id `([0-9a-f]{8})`/.exec(edit.body.content)?.[1];
    expect(errorId).toBeDefined();
    expect(edit.body).toMatchObject({ embeds: [], components: [], allowed_mentions: { parse: [] } });
    const logged = logs.find((l) => l.errorId === errorId);
    expect(logged).toMatchObject({
      level: 50,
      command: '/ask',
      guildId: fake.guildId,
      userId: fake.userId,
      questionChars: WHERE.length,
      err: expect.objectContaining({ message: 'index exploded' }),
    });
    expect(JSON.stringify(logged)).not.toContain(WHERE); // the question text stays out of the logs

    setAsk(null);
    const again = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    expect(embedOf(await again.waitForEditOriginal()).description).toContain('Qatar');
  });

  it('a time-out ends in a final edit saying it took too long', async () => {
    const { fake, setAsk } = await boot({}, { settings: { answerTimeoutMs: 150 } });
    setAsk((real) => (q, o) => new Promise((resolve) => setTimeout(() => resolve(real(q, o)), 1000).unref()));
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const edit = await sent.waitForEditOriginal();
    expect(edit.body.content).toMatch(/took too long/);
    expect(edit.body).toMatchObject({ embeds: [], components: [], allowed_mentions: { parse: [] } });
  });

  it('the concurrency limit queues answers instead of dropping them', async () => {
    const { fake, setAsk } = await boot({ MAX_CONCURRENT_ANSWERS: '1' });
    let running = 0;
    let maxRunning = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    setAsk((real) => async (q, o) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        await gate;
        return await real(q, o);
      } finally {
        running--;
      }
    });
    const sent = [];
    for (let i = 0; i < 3; i++) {
      sent.push(await fake.sendSlashCommand({ name: 'ask', userId: snowflake(), options: [{ type: 3, name: 'question', value: WHERE }] }));
    }
    // All three are acknowledged at once (no 3-second expiry while they wait)...
    for (const s of sent) expect((await s.waitForCallback()).body.type).toBe(5);
    open();
    // ...and all three get their answer, one at a time.
    for (const s of sent) expect(embedOf(await s.waitForEditOriginal()).description).toContain('Qatar');
    expect(maxRunning).toBe(1);
  });
});

describe('message context menu', () => {
  it('"Ask the knowledge base" answers the selected message', async () => {
    const { fake } = await boot();
    const sent = await fake.sendMessageContextMenu({ name: 'Ask the knowledge base', targetMessage: { content: WHERE } });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const edit = await sent.waitForEditOriginal();
    expect(embedOf(edit).description).toContain('Qatar');
    expect(embedOf(edit).fields[0].value).toBe(`${SEED_TITLE} · 10 Apr 2025 · ¶ 4`);
  });
});

describe('mentions and threads', () => {
  const threadCreated = (fake: FakeDiscord, messageId: string) =>
    fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${fake.channelId}/messages/${messageId}/threads`);
  const postedIn = (fake: FakeDiscord, channelId: string, fromIndex = 0) =>
    fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`, 5000, { fromIndex });

  it('a mention is answered in a thread started on it; a mention in the thread is a follow-up with history', async () => {
    const { fake, asks } = await boot();
    const question = await fake.sendMessage({ content: WHERE, mentionsBot: true });
    const created = await threadCreated(fake, question.id);
    expect(created.body.name).toBe(WHERE);
    const threadId = (created.response as { id: string }).id;
    const answer = await postedIn(fake, threadId);
    expect(embedOf(answer).description).toContain('Qatar');
    expect(embedOf(answer).fields[0].value).toBe(`${SEED_TITLE} · 10 Apr 2025 · ¶ 4`);
    expect(embedOf(answer).footer.text).toMatch(/Mention @ArticleBot in this thread/);
    expect(answer.body.allowed_mentions).toEqual({ parse: [] });

    // Without the Message Content intent a plain follow-up arrives empty: it is left alone.
    await fake.sendMessage({ content: 'who led them?', threadOf: question.id });
    const before = fake.requests.length;
    const followUp = await fake.sendMessage({ content: 'who led them?', threadOf: question.id, mentionsBot: true });
    const reply = await postedIn(fake, threadId, before);
    expect(reply.body.message_reference).toMatchObject({ message_id: followUp.id });
    expect(reply.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    // "who led them?" alone has no answer; read with the thread's first question it does.
    expect(embedOf(reply).description).not.toMatch(/couldn't find/);
    expect(embedOf(reply).fields[0].value).toMatch(new RegExp(`^${SEED_TITLE.replace(/[.]/g, '\\.')} · 10 Apr 2025 · ¶ \\d+$`));
    expect(asks.at(-1)).toEqual({ question: 'who led them?', history: [WHERE] });
    expect(fake.requestsMatching('POST', `/channels/${threadId}/messages`)).toHaveLength(2);
  });

  it('with the Message Content intent, plain follow-ups in the bot thread are answered in context', async () => {
    const { fake, asks } = await boot({ DISCORD_MESSAGE_CONTENT_INTENT: 'true' });
    const question = await fake.sendMessage({ content: WHERE, mentionsBot: true });
    const threadId = ((await threadCreated(fake, question.id)).response as { id: string }).id;
    const first = await postedIn(fake, threadId);
    expect(embedOf(first).footer.text).toMatch(/follow-up right here/);
    const before = fake.requests.length;
    // Members talking to each other in the thread are left alone.
    await fake.sendMessage({ content: `<@${fake.ownerId}> what do you think about Qatar?`, threadOf: question.id });
    await fake.sendMessage({ content: 'who pushed for the agreement?', threadOf: question.id });
    const reply = await postedIn(fake, threadId, before);
    expect(embedOf(reply).description).toContain('Adam Boehler');
    expect(fake.requestsMatching('POST', `/channels/${threadId}/messages`)).toHaveLength(2);
    expect(embedOf(reply).fields[0].value).toMatch(/ ¶ 3$/);
    expect(asks.at(-1)).toEqual({ question: 'who pushed for the agreement?', history: [WHERE] });
    // The gateway identified with MessageContent (1 << 15).
    const identify = await fake.waitForGatewayPayload((p) => p.op === 2);
    expect(((identify.d as { intents: number }).intents & (1 << 15)) !== 0).toBe(true);
  });

  it('a bare mention gets a short how-to; ordinary chatter is ignored; quoted @everyone never pings', async () => {
    const { fake } = await boot();
    await fake.sendMessage({ content: '@everyone lunch?' });
    const bare = await fake.sendMessage({ content: '', mentionsBot: true });
    const help = await postedIn(fake, fake.channelId);
    expect(help.body.message_reference).toMatchObject({ message_id: bare.id });
    expect(help.body.content).toMatch(/Ask me about the articles/);
    expect(help.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    expect(fake.requestsMatching('POST', /\/threads$/)).toHaveLength(0);
  });

  it('a mention flood gets one cooldown note, not one per message', async () => {
    const { fake } = await boot({ ASK_COOLDOWN_SECONDS: '60' });
    const q1 = await fake.sendMessage({ content: WHERE, mentionsBot: true });
    const threadId = ((await threadCreated(fake, q1.id)).response as { id: string }).id;
    await postedIn(fake, threadId);
    const before = fake.requests.length;
    await fake.sendMessage({ content: 'again?', threadOf: q1.id, mentionsBot: true });
    await fake.sendMessage({ content: 'and again?', threadOf: q1.id, mentionsBot: true });
    const note = await postedIn(fake, threadId, before);
    expect(note.body.content).toMatch(/asking quickly/);
    // A third mention by someone else is still answered, proving the second flood message was handled (silently).
    const after = fake.requests.length;
    await fake.sendMessage({ content: 'who pushed for the agreement?', threadOf: q1.id, mentionsBot: true, authorId: snowflake() });
    const answer = await postedIn(fake, threadId, after);
    expect(embedOf(answer).description).toContain('Boehler');
    expect(fake.requestsMatching('POST', `/channels/${threadId}/messages`).filter((r) => /asking quickly/.test(r.body.content ?? ''))).toHaveLength(1);
  });
});
