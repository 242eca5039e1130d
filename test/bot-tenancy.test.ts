/**
 * Servers are kept apart, end to end: the real discord.js Client (startBot) in two servers of the
 * fake Discord, a real knowledge base on disk. The attack this guards against: a member with
 * Manage Server in a second server changing what the first server's members are told.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RunningBot, StartBotOptions } from '../src/bot/client.js';
import type { KnowledgeBase } from '../src/core/knowledge-base.js';
import { bootBot, HOME_GUILD as HOME, homeAndOtherServers, MOD_PERMS, OTHER_GUILD as OTHER } from './helpers/boot-bot.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord, type RecordedRequest, type SentInteraction } from './helpers/fake-discord.js';

const SEED_ID = 'hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look';
const WHERE = 'Where did the talks between the U.S. and Hamas take place?';

const PLANTED = {
  title: 'Qatar talks were a hoax',
  text: 'Where did the talks between the U.S. and Hamas take place? They never took place in Qatar; they were held on the moon, said an anonymous source.\n\nThe moon talks lasted three weeks.',
};
const BAKERY = {
  title: 'Village bakery wins national award',
  text: 'The village bakery on Mill Lane won the national sourdough award, judged in Leeds by a panel of twelve bakers.\n\nIts owner started baking in a garage ten years ago.',
};

interface Booted {
  fake: FakeDiscord;
  kb: KnowledgeBase;
  bot: RunningBot;
  dir: string;
  logs: string[];
}

const stopAfterTest = cleanUpAfterEach();

async function boot(env: Record<string, string>, guilds = [OTHER], options: StartBotOptions = {}): Promise<Booted> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const { fake, kb, bot, dir, stop } = await bootBot({
    tempPrefix: 'bot-tenancy-',
    knowledge: 'seed folder copy',
    discord: homeAndOtherServers(guilds),
    env,
    logger,
    start: options,
  });
  stopAfterTest(stop);
  return { fake, kb, bot, dir, logs };
}

const sub = (name: string, options: { type: number; name: string; value?: string | number }[] = []) => [{ type: 1, name, options }];

function kbCommand(fake: FakeDiscord, guildId: string, name: string, options: Parameters<typeof sub>[1] = [], memberPermissions = MOD_PERMS) {
  return fake.sendSlashCommand({ name: 'kb', options: sub(name, options), guildId, memberPermissions });
}

async function finalEdit(fake: FakeDiscord, sent: SentInteraction, match: RegExp): Promise<RecordedRequest> {
  return fake.waitForRequest(
    (r) => r.method === 'PATCH' && r.path.endsWith(`/webhooks/${fake.applicationId}/${sent.token}/messages/@original`) && match.test(JSON.stringify(r.body)),
  );
}

/** Asks with /ask in a server (or a DM) and returns the final embed. */
async function ask(fake: FakeDiscord, where: { guildId: string } | { dm: true }, question: string) {
  const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: question }], ...where });
  await sent.waitForCallback();
  const edit = await sent.waitForEditOriginal();
  return { sent, edit, embed: edit.body.embeds?.[0], text: JSON.stringify(edit.body) };
}

/** Adds an article through the /kb add form. */
async function addTyped(fake: FakeDiscord, guildId: string, article: { title: string; text: string }, memberPermissions = MOD_PERMS) {
  const submit = await fake.sendModalSubmit({ customId: 'kbadd', fields: article, guildId, memberPermissions });
  return { submit, callback: await submit.waitForCallback() };
}

describe('KB_SCOPE=shared (default): the knowledge base has an owner', () => {
  it('a moderator of another server cannot add, remove, reindex or confirm; members of the home server are told what they were', async () => {
    const { fake, kb } = await boot({ KB_ADMIN_GUILD_IDS: HOME });
    const version = (await kb.stats()).version;

    // The attack: Manage Server in the second server.
    const { callback } = await addTyped(fake, OTHER, PLANTED);
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(callback.body.data.content).toMatch(/managed from \*\*Home Newsroom\*\*/);
    expect(callback.body.data.content).toContain(HOME);
    for (const [name, options] of [
      ['add', [{ type: 3, name: 'url', value: 'https://example.com/' }]],
      ['remove', [{ type: 3, name: 'article', value: SEED_ID }]],
      ['reindex', []],
    ] as const) {
      const sent = await kbCommand(fake, OTHER, name, [...options]);
      const reply = await sent.waitForCallback();
      expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(reply.body.data.content).toMatch(/Nothing was changed/);
    }
    // A confirmation staged in the home server cannot be clicked from the other one.
    const staged = await kbCommand(fake, HOME, 'remove', [{ type: 3, name: 'article', value: SEED_ID }]);
    const confirm = (await staged.waitForCallback()).body.data.components[0].components[0].custom_id as string;
    expect(confirm).toMatch(/^kb:ok:/);
    const forged = await fake.sendButton({ customId: confirm, guildId: OTHER, memberPermissions: MOD_PERMS });
    expect((await forged.waitForCallback()).body.data.content).toMatch(/managed from/);

    expect((await kb.stats()).version).toBe(version);
    expect((await kb.listArticles()).map((a) => a.id)).toEqual([SEED_ID]);
    const home = await ask(fake, { guildId: HOME }, WHERE);
    expect(home.embed.description).toContain('Qatar');
    expect(home.text).not.toMatch(/moon/);

    // Read-only subcommands stay available to the other server's moderators.
    const list = await kbCommand(fake, OTHER, 'list');
    expect(JSON.stringify((await list.waitForCallback()).body)).toContain('Hamas');

    // The home server's moderators still manage it.
    const added = await addTyped(fake, HOME, BAKERY);
    expect(added.callback.body).toEqual({ type: 5, data: { flags: 64 } });
    await finalEdit(fake, added.submit, /Added/);
    expect((await ask(fake, { guildId: OTHER }, 'Which bakery won the national sourdough award?')).embed.description).toMatch(/Mill Lane/);
  });

  it("one server's answer buttons cannot be clicked from another (custom ids are the client's to choose)", async () => {
    const { fake } = await boot({ KB_ADMIN_GUILD_IDS: HOME });
    const inOther = await ask(fake, { guildId: OTHER }, WHERE);
    const [passages, up] = inOther.edit.body.components[0].components.map((c: { custom_id: string }) => c.custom_id as string);
    const forged = await fake.sendButton({ customId: passages, guildId: HOME });
    expect(JSON.stringify((await forged.waitForCallback()).body)).toMatch(/too old/);
    const vote = await fake.sendButton({ customId: up, guildId: HOME });
    expect(JSON.stringify((await vote.waitForCallback()).body)).toMatch(/too old/);
    const own = await fake.sendButton({ customId: passages, guildId: OTHER });
    expect(JSON.stringify((await own.waitForCallback()).body)).toMatch(/Qatar/);
  });

  it('without KB_ADMIN_GUILD_IDS or GUILD_ID, a bot in two servers refuses changes everywhere and warns at start-up', async () => {
    const { fake, kb, logs } = await boot({});
    expect(logs.join('\n')).toMatch(/KB_ADMIN_GUILD_IDS \(or GUILD_ID\) is not set/);
    for (const guildId of [HOME, OTHER]) {
      const { callback } = await addTyped(fake, guildId, BAKERY);
      expect(callback.body.data.content).toMatch(/in 2 servers .*KB_ADMIN_GUILD_IDS/);
    }
    expect(await kb.listArticles()).toHaveLength(1);
  });

  it('without the settings, a bot in one server treats it as home; GUILD_ID names the home server', async () => {
    const alone = await boot({}, []);
    const added = await addTyped(alone.fake, HOME, BAKERY);
    expect(added.callback.body).toEqual({ type: 5, data: { flags: 64 } });
    await finalEdit(alone.fake, added.submit, /Added/);

    const named = await boot({ GUILD_ID: OTHER });
    expect((await addTyped(named.fake, HOME, BAKERY)).callback.body.data.content).toMatch(/managed from/);
    const ok = await addTyped(named.fake, OTHER, BAKERY);
    expect(ok.callback.body).toEqual({ type: 5, data: { flags: 64 } });
  });
});

describe('KB_SCOPE=server: a knowledge base per server', () => {
  it("one server's articles, autocomplete, list, summaries, passages and votes never reach another", async () => {
    const { fake, dir } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME });
    const added = await addTyped(fake, OTHER, BAKERY);
    expect(added.callback.body).toEqual({ type: 5, data: { flags: 64 } });
    await finalEdit(fake, added.submit, /Added/);
    expect(existsSync(join(dir, 'data', 'servers', OTHER, 'catalog.sqlite'))).toBe(true);

    const inOther = await ask(fake, { guildId: OTHER }, 'Which bakery won the national sourdough award?');
    expect(inOther.embed.description).toMatch(/Mill Lane/);
    expect(JSON.stringify(inOther.embed.fields)).toContain('this server');
    const inHome = await ask(fake, { guildId: HOME }, 'Which bakery won the national sourdough award?');
    expect(inHome.text).not.toMatch(/Mill Lane|Village bakery/);
    const dm = await ask(fake, { dm: true }, 'Which bakery won the national sourdough award?');
    expect(dm.text).not.toMatch(/Mill Lane|Village bakery/);

    // Both still answer from the base layer, and say so.
    const seedInOther = await ask(fake, { guildId: OTHER }, WHERE);
    expect(seedInOther.embed.description).toContain('Qatar');
    expect(JSON.stringify(seedInOther.embed.fields)).toContain('shared library');

    const auto = await fake.sendAutocomplete({
      name: 'kb',
      options: [{ type: 1, name: 'remove', options: [{ type: 3, name: 'article', value: 'village', focused: true }] }],
      guildId: HOME,
      memberPermissions: MOD_PERMS,
    });
    expect((await auto.waitForCallback()).body.data.choices).toEqual([]);
    const summaryAuto = await fake.sendAutocomplete({
      name: 'summary',
      options: [{ type: 1, name: 'article', options: [{ type: 3, name: 'article', value: 'village', focused: true }] }],
      guildId: HOME,
    });
    expect(JSON.stringify((await summaryAuto.waitForCallback()).body)).not.toMatch(/bakery/i);
    const list = await kbCommand(fake, HOME, 'list');
    expect(JSON.stringify((await list.waitForCallback()).body)).not.toMatch(/bakery/i);
    const show = await kbCommand(fake, HOME, 'show', [{ type: 3, name: 'article', value: 'village-bakery-wins-national-award' }]);
    expect((await show.waitForCallback()).body.data.content).toMatch(/No article matches/);
    const summaryArgs = [{ type: 1, name: 'article', options: [{ type: 3, name: 'article', value: BAKERY.title }] }];
    const summaryHome = await fake.sendSlashCommand({ name: 'summary', options: summaryArgs, guildId: HOME });
    await summaryHome.waitForCallback();
    expect(JSON.stringify((await summaryHome.waitForEditOriginal()).body)).not.toMatch(/Mill Lane/);
    const summaryOther = await fake.sendSlashCommand({ name: 'summary', options: summaryArgs, guildId: OTHER });
    await summaryOther.waitForCallback();
    expect(JSON.stringify((await summaryOther.waitForEditOriginal()).body)).toMatch(/Mill Lane/);
    const stats = await kbCommand(fake, OTHER, 'stats');
    expect(JSON.stringify((await stats.waitForCallback()).body)).toMatch(/"Articles","value":"1"/);

    // "Show passages" and votes of the other server's answer, clicked (forged) from the home server.
    const passagesId = inOther.edit.body.components[0].components[0].custom_id as string;
    const forged = await fake.sendButton({ customId: passagesId, guildId: HOME });
    expect(JSON.stringify((await forged.waitForCallback()).body)).not.toMatch(/Mill Lane/);
    const own = await fake.sendButton({ customId: passagesId, guildId: OTHER });
    expect(JSON.stringify((await own.waitForCallback()).body)).toMatch(/Mill Lane/);
  });

  it('the home server manages the base layer every server answers from', async () => {
    const { fake, kb } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME });
    const added = await addTyped(fake, HOME, BAKERY);
    await finalEdit(fake, added.submit, /Added/);
    expect(await kb.listArticles()).toHaveLength(2);
    const inOther = await ask(fake, { guildId: OTHER }, 'Which bakery won the national sourdough award?');
    expect(inOther.embed.description).toMatch(/Mill Lane/);
    expect(JSON.stringify(inOther.embed.fields)).toContain('shared library');
  });

  it('a server removed from the bot starts its retention clock; an invited one is known again', async () => {
    const { fake, bot } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME });
    await addTyped(fake, OTHER, BAKERY);
    await fake.removeGuild(OTHER);
    const servers = bot.context.servers;
    await expect.poll(async () => (await servers.serverStatus(OTHER))?.leftAt ?? null).not.toBeNull();
    const { id } = await fake.addGuild({ name: 'Newcomer' });
    await expect.poll(async () => (await servers.serverStatus(id))?.leftAt).toBeNull();
  });

  it('while the bot runs, housekeeping purges a server left past KB_RETENTION_DAYS and blanks old question text (both tables)', async () => {
    const { fake, bot, dir } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME, KB_RETENTION_DAYS: '0' }, [OTHER], {
      settings: { housekeepingIntervalMs: 50 },
    });
    await addTyped(fake, OTHER, BAKERY);
    await expect.poll(() => existsSync(join(dir, 'data', 'servers', OTHER, 'catalog.sqlite'))).toBe(true);
    const store = bot.context.store;
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const id = await store.recordQuestion({ via: 'slash', userId: 'u', guildId: HOME, question: 'an old question?', outcome: 'answered', answer: 'an old answer [1]', at: old });
    await store.recordFeedback({ questionId: id, userId: 'u', guildId: HOME, vote: 'up', at: old });
    await expect.poll(async () => (await store.getQuestion(id))?.question ?? null).toBeNull();
    expect((await store.listFeedback({ guildId: HOME }))[0]).toMatchObject({ question: '', answer: '' });

    await fake.removeGuild(OTHER);
    await expect.poll(() => existsSync(join(dir, 'data', 'servers', OTHER))).toBe(false);
  });
});
