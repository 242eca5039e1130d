/**
 * `/kb` end to end: the real discord.js Client (startBot) against the fake Discord, a real
 * KnowledgeBase (HashEmbedder) and a temporary knowledge folder. What is asserted is what Discord
 * would see: registration payload, callbacks, edits, buttons, modals, autocomplete, attachments
 * downloaded from the fake's HTTP server, log-channel posts.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIAttachment } from 'discord.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startBot, type StartBotOptions } from '../src/bot/client.js';
import { commandPayloads } from '../src/bot/commands/index.js';
import { loadConfig } from '../src/config.js';
import type { Embedder } from '../src/core/embed/embedder.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { RawArticle } from '../src/core/types.js';
import { buildPdf } from './fixtures/pdf.js';
import { MANAGE_GUILD, MEMBER_PERMS, MOD_PERMS } from './helpers/boot-bot.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord, snowflake, type FakeDiscordOptions, type RecordedRequest, type SentInteraction } from './helpers/fake-discord.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';
const SEED_ID = 'hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look';
const WHERE = 'Where did the talks between the U.S. and Hamas take place?';

/** HashEmbedder that waits a little per call, so a reindex takes long enough to show progress. */
class SlowEmbedder implements Embedder {
  private readonly inner = new HashEmbedder();
  delayMs = 0;
  /** When set, every embedding request fails with it (an embedding worker that died). */
  failWith: Error | undefined;
  get info() {
    return this.inner.info;
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    return this.inner.embed(texts);
  }
  async close(): Promise<void> {}
}

interface Booted {
  fake: FakeDiscord;
  kb: KnowledgeBase;
  knowledge: string;
  embedder: SlowEmbedder;
  logChannelId: string;
}

const cleanUpAfterTest = cleanUpAfterEach();

type Env = Record<string, string> | ((fake: FakeDiscord) => Promise<Record<string, string>>);

async function boot(envOrSetup: Env = {}, options: StartBotOptions = {}, extra: RawArticle[] = [], fakeOptions: FakeDiscordOptions = {}): Promise<Booted> {
  const fake = await FakeDiscord.start(fakeOptions);
  const env = typeof envOrSetup === 'function' ? await envOrSetup(fake) : envOrSetup;
  const dir = mkdtempSync(join(tmpdir(), 'bot-kb-'));
  const knowledge = join(dir, 'knowledge');
  cpSync('knowledge', knowledge, { recursive: true });
  const embedder = new SlowEmbedder();
  const kb = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder });
  await kb.ingest([...(await loadDirectory(knowledge)).articles, ...extra]);
  const logChannel = await fake.createTextChannel({ name: 'kb-log' });
  const logger = pino({ level: 'silent' });
  const config = loadConfig({
    DATA_DIR: join(dir, 'data'),
    KNOWLEDGE_DIR: knowledge,
    DISCORD_TOKEN: fake.token,
    DISCORD_CLIENT_ID: fake.applicationId,
    GUILD_ID: fake.guildId,
    DISCORD_API_URL: fake.apiUrl,
    ASK_COOLDOWN_SECONDS: '0',
    KB_LOG_CHANNEL_ID: logChannel.id,
    ...env,
  });
  const app: App = { config, logger, embedder, kb, close: async () => kb.close() };
  let bot: Awaited<ReturnType<typeof startBot>> | undefined;
  cleanUpAfterTest(async () => {
    await bot?.stop();
    await fake.close();
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  bot = await startBot(app, { ...options, settings: { kbProgressIntervalMs: 15, ...options.settings } });
  return { fake, kb, knowledge, embedder, logChannelId: logChannel.id };
}

const sub = (name: string, options: { type: number; name: string; value?: string | number | APIAttachment }[] = []) => [{ type: 1, name, options }];

function kb(fake: FakeDiscord, name: string, options: Parameters<typeof sub>[1] = [], as: { memberPermissions?: bigint; userId?: string; roles?: string[] } = { memberPermissions: MOD_PERMS }) {
  return fake.sendSlashCommand({ name: 'kb', options: sub(name, options), ...as });
}

/** The last state of the interaction's original response (after every edit). */
async function finalEdit(fake: FakeDiscord, sent: SentInteraction, match: RegExp, timeoutMs?: number): Promise<RecordedRequest> {
  return fake.waitForRequest(
    (r) => r.method === 'PATCH' && r.path.endsWith(`/webhooks/${fake.applicationId}/${sent.token}/messages/@original`) && match.test(JSON.stringify(r.body)),
    timeoutMs,
  );
}

const textOf = (r: RecordedRequest) => JSON.stringify(r.body);
const buttonIds = (r: RecordedRequest): string[] => (r.body.components ?? r.body.data?.components ?? []).flatMap((row: { components: { custom_id: string }[] }) => row.components.map((c) => c.custom_id));

describe('/kb registration and permissions', () => {
  it('is registered with default_member_permissions = Manage Server, in servers only, with its subcommands', () => {
    const kbCommand = commandPayloads().find((c) => c.name === 'kb')! as { default_member_permissions?: string; contexts?: number[]; options?: { name: string }[] };
    expect(kbCommand.default_member_permissions).toBe(String(MANAGE_GUILD));
    expect(kbCommand.contexts).toEqual([0]);
    expect(kbCommand.options!.map((o) => o.name)).toEqual(['add', 'remove', 'list', 'show', 'reindex', 'stats', 'feed']);
    const feed = kbCommand.options!.find((o) => o.name === 'feed') as unknown as { type: number; options: { name: string }[] };
    expect(feed.type).toBe(2);
    expect(feed.options.map((o) => o.name)).toEqual(['add', 'list', 'remove', 'refresh']);
  });

  it('refuses a member without Manage Server or a moderator role, ephemerally, and changes nothing', async () => {
    const { fake, kb: base } = await boot();
    const version = (await base.stats()).version;
    for (const [name, options] of [
      ['remove', [{ type: 3, name: 'article', value: SEED_ID }]],
      ['reindex', []],
      ['stats', []],
      ['add', [{ type: 3, name: 'url', value: 'https://example.com/' }]],
    ] as const) {
      const sent = await kb(fake, name, [...options], { memberPermissions: MEMBER_PERMS });
      const callback = await sent.waitForCallback();
      expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(callback.body.data.content).toMatch(/Only moderators .*Manage Server/);
    }
    // Buttons and modals check again (a stale message, a forged id).
    const button = await fake.sendButton({ customId: 'kb:ok:deadbeef', memberPermissions: MEMBER_PERMS });
    expect((await button.waitForCallback()).body.data.content).toMatch(/Only moderators/);
    const modal = await fake.sendModalSubmit({ customId: 'kbadd', fields: { title: 'Sneaky', text: 'Text that must not be added to the knowledge base by a member.' }, memberPermissions: MEMBER_PERMS });
    expect((await modal.waitForCallback()).body.data.content).toMatch(/Only moderators/);
    const auto = await fake.sendAutocomplete({ name: 'kb', options: [{ type: 1, name: 'remove', options: [{ type: 3, name: 'article', value: 'ham', focused: true }] }], memberPermissions: MEMBER_PERMS });
    expect((await auto.waitForCallback()).body).toEqual({ type: 8, data: { choices: [] } });
    expect((await base.stats()).version).toBe(version);
    expect((await base.stats()).articles).toBe(1);
  });

  it('lets in a member with a role from KB_MODERATOR_ROLE_IDS', async () => {
    let role = '';
    const { fake } = await boot(async (f) => {
      role = (await f.createRole({ name: 'librarian' })).id;
      return { KB_MODERATOR_ROLE_IDS: `${snowflake()}, ${role}` };
    });
    const other = await fake.createRole({ name: 'reader' });
    const refused = await fake.sendSlashCommand({ name: 'kb', options: sub('stats'), memberPermissions: MEMBER_PERMS, roles: [other.id] });
    expect((await refused.waitForCallback()).body.data.content).toMatch(/Only moderators/);
    const sent = await fake.sendSlashCommand({ name: 'kb', options: sub('stats'), memberPermissions: MEMBER_PERMS, roles: [role] });
    const callback = await sent.waitForCallback();
    expect(callback.body.data.content ?? '').not.toMatch(/Only moderators/);
    expect(callback.body.data.embeds[0].title).toBe('Knowledge base');
  });
});

describe('/kb add', () => {
  it('adds an attached Markdown file: deferred ephemerally, then title, paragraphs, duplicates dropped, seconds; written to knowledge/, posted to the log channel', async () => {
    const { fake, kb: base, knowledge, logChannelId } = await boot();
    const md = '---\ntitle: Harbour reopens after the storm\nurl: https://example.com/harbour\n---\n\nThe harbour reopened on Friday after crews repaired the storm damage to the outer breakwater.\n\nThe harbour reopened on Friday after crews repaired the storm damage to the outer breakwater.\n\nFishing boats were the first to leave, followed by the ferry to the islands later that afternoon.\n';
    const attachment = fake.createAttachment({ filename: 'harbour.md', data: md });
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: attachment }]);
    expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    const edit = await finalEdit(fake, sent, /Added/);
    const embed = edit.body.embeds[0];
    expect(embed.title).toBe('Added: Harbour reopens after the storm');
    expect(embed.description).toMatch(/\*\*Paragraphs:\*\* 2/);
    expect(embed.description).toMatch(/\*\*Duplicates dropped:\*\* 1/);
    expect(embed.description).toMatch(/\*\*Seconds:\*\* \d+\.\d/);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(fake.requestsMatching('GET', /^\/attachments\//)).toHaveLength(1); // the file was downloaded from the CDN URL
    expect(existsSync(join(knowledge, 'harbour-reopens-after-the-storm.md'))).toBe(true);
    expect((await base.ask('When did the harbour reopen?')).answer).toContain('Friday');
    const post = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${logChannelId}/messages`);
    expect(post.body.content).toMatch(/📄 <@\d+> added “Harbour reopens after the storm” \(`harbour-reopens-after-the-storm`, hash `[0-9a-f]{16}`\)/);
    expect(post.body.allowed_mentions).toEqual({ parse: [] });
  });

  it('asks before replacing an article with the same title; only its author can confirm; Replace re-indexes it', async () => {
    const { fake, kb: base } = await boot();
    const text = `${SEED_TITLE}\n\nThe talks between the U.S. and Hamas took place in Doha, Qatar, according to a corrected report published later that month.`;
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'correction.txt', data: text }) }]);
    const confirm = await finalEdit(fake, sent, /Replace an existing article/);
    expect(textOf(confirm)).toContain('replaces');
    const [ok, no] = buttonIds(confirm);
    expect(ok).toMatch(/^kb:ok:[0-9a-f]{16}$/);
    expect(no).toMatch(/^kb:no:[0-9a-f]{16}$/);
    expect((await base.getArticle(SEED_ID))!.paragraphs).toBeGreaterThan(1); // unchanged so far

    const intruder = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS, userId: snowflake() });
    expect((await intruder.waitForCallback()).body.data.content).toMatch(/Only the moderator who ran the command/);

    const click = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS });
    // Acknowledged before any work, then the message says what is happening, then the result.
    expect((await click.waitForCallback()).body).toEqual({ type: 6 });
    await finalEdit(fake, click, /Replacing…/);
    const done = await finalEdit(fake, click, /Replaced/);
    expect(done.body.embeds[0].title).toBe(`Replaced: ${SEED_TITLE}`);
    expect((await base.getArticle(SEED_ID))!.paragraphs).toBe(1);
    expect((await base.ask(WHERE)).answer).toContain('Doha');

    // The same button again: used up.
    const again = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS });
    expect((await again.waitForCallback()).body.data.content).toMatch(/expired/);
  });

  it('asks again when the article to replace changed after the question', async () => {
    const { fake, kb: base } = await boot();
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'v2.txt', data: `${SEED_TITLE}\n\nVersion two of the article, with a single paragraph of replacement text.` }) }]);
    const [ok] = buttonIds(await finalEdit(fake, sent, /Replace an existing article/));
    // The article's own file, edited and ingested again (another file with its title would get an id of its own).
    const origin = (await base.listArticles()).find((a) => a.title === SEED_TITLE)!.origin;
    await base.ingest([{ title: SEED_TITLE, body: 'Someone else edited the article meanwhile, through npm run ingest of the knowledge folder.', origin }]);
    const version = (await base.stats()).version;
    const click = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS });
    expect((await click.waitForCallback()).body.type).toBe(6);
    const again = await finalEdit(fake, click, /Replace an existing article/);
    expect(again.body.embeds[0].title).toBe('Replace an existing article?');
    expect(buttonIds(again)[0]).not.toBe(ok);
    expect((await base.stats()).version).toBe(version);
  });

  it('a failure after "Replacing…" ends in an apology with an error id in that same message, never "Replacing…"', async () => {
    const { fake, kb: base, embedder } = await boot();
    const version = (await base.stats()).version;
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'v3.txt', data: `${SEED_TITLE}\n\nA third version of the article whose embedding will fail half-way through the replacement.` }) }]);
    const [ok] = buttonIds(await finalEdit(fake, sent, /Replace an existing article/));
    embedder.failWith = new Error('embedding worker died');
    const click = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS });
    await click.waitForCallback();
    const failed = await finalEdit(fake, click, /error id|went wrong/i);
    expect(textOf(failed)).toMatch(/[0-9a-f]{8}/);
    const message = fake.getMessage(fake.channelId, click.messageId);
    expect(JSON.stringify(message)).not.toMatch(/Replacing…/);
    expect((await base.stats()).version).toBe(version);
  });

  it('Cancel leaves the knowledge base as it was', async () => {
    const { fake, kb: base } = await boot();
    const version = (await base.stats()).version;
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'c.txt', data: `${SEED_TITLE}\n\nA replacement text that will be cancelled before it is ever indexed by the bot.` }) }]);
    const [, no] = buttonIds(await finalEdit(fake, sent, /Replace an existing article/));
    const click = await fake.sendButton({ customId: no, memberPermissions: MOD_PERMS });
    expect((await click.waitForCallback()).body.data.content).toMatch(/Cancelled. Nothing was changed/);
    expect((await base.stats()).version).toBe(version);
  });

  it('says what reading the file changed: a title that was too long is cut, and the reply tells the moderator', async () => {
    const { fake } = await boot();
    const longTitle = `Harbour ${'and breakwater '.repeat(30)}report`;
    const data = `${longTitle}\n\nThe harbour reopened on Friday after crews repaired the storm damage to the outer breakwater.`;
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'long-title.txt', data }) }]);
    const edit = await finalEdit(fake, sent, /Added/);
    expect(edit.body.embeds[0].description).toMatch(/the title was \d+ characters long; it was cut to 200/);
  });

  it('refuses bad uploads with a clear ephemeral message and changes nothing', async () => {
    const { fake, kb: base } = await boot({ KB_MAX_UPLOAD_BYTES: '2048' });
    const version = (await base.stats()).version;

    // Oversized: refused from the declared size, before any download.
    const big = { ...fake.createAttachment({ filename: 'big.md', data: '# Big\n\nsmall really' }), size: 10 * 1024 * 1024 };
    let sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: big }]);
    let callback = await sent.waitForCallback();
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(callback.body.data.content).toMatch(/10 MB, larger than the limit of 2 KB/);
    expect(fake.requestsMatching('GET', /^\/attachments\//)).toHaveLength(0);

    sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'letter.docx', data: 'PK\u0003\u0004' }) }]);
    expect((await sent.waitForCallback()).body.data.content).toMatch(/\.docx files are not supported/);

    const cases: [string, Buffer, RegExp][] = [
      ['photo.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), /binary content/],
      ['blank.md', Buffer.from('  \n\n \n'), /empty/],
      ['scan.pdf', buildPdf(null), /no text layer/],
      ['garbage.html', Buffer.from([0xff, 0xfe, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0]), /binary content|could not/],
    ];
    for (const [filename, data, reason] of cases) {
      sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename, data }) }]);
      expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
      // The first PDF loads the PDF reader (pdf.js), which takes seconds on a busy 2-core machine.
      const edit = await finalEdit(fake, sent, /Could not add/, 20_000);
      expect(edit.body.content).toMatch(reason);
      expect(edit.body.content).toMatch(/Nothing was changed/);
    }
    expect((await base.stats()).version).toBe(version);
  });

  it('refuses a URL on a loopback address (SSRF) without connecting to it', async () => {
    const { fake, kb: base } = await boot();
    const url = `${fake.baseUrl}/attachments/secret`;
    const sent = await kb(fake, 'add', [{ type: 3, name: 'url', value: url }]);
    const edit = await finalEdit(fake, sent, /Could not add/);
    expect(edit.body.content).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(fake.requests.some((r) => r.path.includes('/attachments/secret'))).toBe(false);
    expect((await base.stats()).articles).toBe(1);
  });

  it('with no option opens a modal; the typed article is added', async () => {
    const { fake, kb: base } = await boot();
    const sent = await kb(fake, 'add');
    const callback = await sent.waitForCallback();
    expect(callback.body.type).toBe(9);
    expect(callback.body.data.custom_id).toBe('kbadd');
    const inputs = callback.body.data.components.map((row: { components: { custom_id: string }[] }) => row.components[0].custom_id);
    expect(inputs).toEqual(['title', 'text']);

    const submit = await fake.sendModalSubmit({
      customId: 'kbadd',
      fields: { title: 'Library opening hours', text: 'The town library opens at nine on weekdays and at ten on Saturdays.\n\nIt is closed on Sundays and public holidays, except during the summer reading festival.' },
      memberPermissions: MOD_PERMS,
    });
    expect((await submit.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    const edit = await finalEdit(fake, submit, /Added/);
    expect(edit.body.embeds[0].title).toBe('Added: Library opening hours');
    expect((await base.ask('When does the library open on Saturdays?')).answer).toContain('ten on Saturdays');

    const empty = await fake.sendModalSubmit({ customId: 'kbadd', fields: { title: 'Nothing', text: '   ' }, memberPermissions: MOD_PERMS });
    expect((await empty.waitForCallback()).body).toMatchObject({ type: 4, data: { flags: 64, content: expect.stringMatching(/empty/) } });
  });
});

describe('/kb remove, list, show, stats, autocomplete', () => {
  const many: RawArticle[] = Array.from({ length: 30 }, (_, i) => ({
    title: `Harbour log ${String(i).padStart(2, '0')}`,
    body: `On day ${i} the harbour master logged ${i % 7} ships and calm seas over the breakwater.\n\nCargo ${i} was unloaded at pier ${i % 5} before the tide turned.`,
    origin: `log-${i}`,
  }));

  it('autocompletes titles (at most 25) from memory', async () => {
    const { fake } = await boot({}, {}, many);
    const auto = (value: string) =>
      fake.sendAutocomplete({ name: 'kb', options: [{ type: 1, name: 'show', options: [{ type: 3, name: 'article', value, focused: true }] }], memberPermissions: MOD_PERMS });
    let cb = await (await auto('harbour')).waitForCallback();
    expect(cb.body.data.choices).toHaveLength(25);
    cb = await (await auto('ham')).waitForCallback();
    expect(cb.body.data.choices).toEqual([{ name: SEED_TITLE, value: SEED_ID }]);
  });

  it('removes with a confirmation button: never cited again, its file moved out, "Show passages" on an old answer refuses it', async () => {
    const { fake, kb: base, knowledge, logChannelId } = await boot();
    const ask = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    const answer = await ask.waitForEditOriginal();
    const [passagesId] = buttonIds(answer);

    const sent = await kb(fake, 'remove', [{ type: 3, name: 'article', value: SEED_ID }]);
    const confirm = await sent.waitForCallback();
    expect(confirm.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(confirm.body.data.embeds[0].title).toBe('Remove this article?');
    expect((await base.stats()).articles).toBe(1);
    const [ok] = buttonIds(confirm);
    const click = await fake.sendButton({ customId: ok, memberPermissions: MOD_PERMS });
    const done = await finalEdit(fake, click, /Removed/);
    expect(done.body.embeds[0].title).toBe(`Removed: ${SEED_TITLE}`);
    expect((await base.stats()).articles).toBe(0);
    expect(existsSync(join(knowledge, 'hamas-us-hostage-negotiations.md'))).toBe(false);
    expect((await base.ask(WHERE)).answer).not.toContain('Qatar');

    const show = await fake.sendButton({ customId: passagesId, userId: snowflake() });
    const shown = await show.waitForCallback();
    expect(textOf(shown)).not.toContain('Qatar');
    expect(shown.body.data.content).toMatch(/changed or removed/);
    const post = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${logChannelId}/messages` && /removed/.test(r.body.content));
    expect(post.body.content).toContain(SEED_ID);
  });

  it('lists page by page with buttons (title, paragraphs, added by, when)', async () => {
    const { fake } = await boot({}, {}, many);
    const sent = await kb(fake, 'list');
    const first = await sent.waitForCallback();
    expect(first.body.data.flags).toBe(64);
    const embed = first.body.data.embeds[0];
    expect(embed.title).toBe('Articles (31)');
    expect(embed.footer.text).toBe('Page 1 of 4');
    expect(embed.description).toMatch(/\*\*1\.\*\* Hamas and U\.S\. Efforts .* · \d+ paragraphs · <t:\d+:R>/);
    const [prev, next] = buttonIds(first);
    expect(prev).toBe('kb:page:0');
    expect(next).toBe('kb:page:2');
    const click = await fake.sendButton({ customId: next, memberPermissions: MOD_PERMS });
    const page2 = await click.waitForCallback();
    expect(page2.body.type).toBe(7);
    expect(page2.body.data.embeds[0].footer.text).toBe('Page 2 of 4');
    const direct = await kb(fake, 'list', [{ type: 4, name: 'page', value: 4 }]);
    expect((await direct.waitForCallback()).body.data.embeds[0].footer.text).toBe('Page 4 of 4');
  });

  it('shows an article: metadata and its first paragraphs', async () => {
    const { fake } = await boot();
    const sent = await kb(fake, 'show', [{ type: 3, name: 'article', value: SEED_ID }]);
    const embed = (await sent.waitForCallback()).body.data.embeds[0];
    expect(embed.title).toBe(SEED_TITLE);
    expect(embed.description).toMatch(/^\*\*¶ 1\*\* /);
    expect(embed.fields.map((f: { name: string }) => f.name)).toEqual(['Paragraphs', 'Added by', 'Added', 'Updated', 'Source', 'Date']);
    expect(embed.footer.text).toMatch(new RegExp(`^id ${SEED_ID} · hash [0-9a-f]{16}$`));
  });

  it('stats: articles, passages, model, size on disk, last change, questions answered, feedback', async () => {
    const { fake } = await boot();
    const ask = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    await ask.waitForEditOriginal();
    const sent = await kb(fake, 'stats');
    const embed = (await sent.waitForCallback()).body.data.embeds[0];
    const fields = Object.fromEntries(embed.fields.map((f: { name: string; value: string }) => [f.name, f.value]));
    expect(fields).toMatchObject({
      Articles: '1',
      'Embedding model': 'test/hash-embedder (64 dimensions)',
      'Questions answered': '1 of 1',
      Feedback: '👍 0 · 👎 0',
    });
    expect(Number(fields.Passages)).toBeGreaterThan(5);
    expect(fields['Index size on disk']).toMatch(/KB|MB/);
    expect(fields['Last change']).toMatch(/^<t:\d+:R>$/);
  });
});

describe('/kb reindex', () => {
  it('edits its progress while it runs, questions are answered meanwhile, then reports', async () => {
    const many: RawArticle[] = Array.from({ length: 40 }, (_, i) => ({
      title: `Harbour log ${i}`,
      body: `On day ${i} the harbour master logged ${i % 7} ships and calm seas over the breakwater.\n\nCargo ${i} was unloaded at pier ${i % 5} before the tide turned.`,
      origin: `log-${i}`,
    }));
    const { fake, embedder, logChannelId } = await boot({}, {}, many);
    embedder.delayMs = 40;
    const sent = await kb(fake, 'reindex');
    expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    await finalEdit(fake, sent, /Reindexing/);
    const ask = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }] });
    const answer = await ask.waitForEditOriginal();
    expect(answer.body.embeds[0].description).toContain('Qatar');
    const done = await finalEdit(fake, sent, /Reindexed/);
    expect(done.body.embeds[0].description).toMatch(/\*\*Articles:\*\* 41/);
    const edits = fake.requestsMatching('PATCH', new RegExp(`${sent.token}/messages/@original$`));
    expect(edits.filter((r) => /Reindexing/.test(textOf(r))).length).toBeGreaterThanOrEqual(2);
    expect(textOf(edits.at(-1)!)).toMatch(/Reindexed/);
    const post = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${logChannelId}/messages` && /reindexed/.test(r.body.content));
    expect(post.body.content).toMatch(/41 articles/);
  });
});

describe('/kb reindex while another process reindexes', () => {
  it('is refused at once, saying who started the running one and when; once it is done, a reindex starts', async () => {
    const { fake, kb: base } = await boot();
    // Another bot process sharing this knowledge base holds the marker (as its /kb reindex would).
    const since = Date.now() - 30_000;
    const other = { holder: 'another-process', actor: { id: '4242', name: 'other_mod', via: 'discord' }, ttlMs: 60_000, now: since };
    expect((await base.tenant.reindexMarker.claim(other)).ok).toBe(true);
    const refused = await kb(fake, 'reindex');
    const reply = await refused.waitForCallback();
    expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(reply.body.data.content).toBe(`A reindex is already running (started by other\\_mod <t:${Math.floor(since / 1000)}:R>). Nothing was changed.`);
    await base.tenant.reindexMarker.release('another-process');
    const again = await kb(fake, 'reindex');
    expect((await again.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    await finalEdit(fake, again, /Reindexed/);
    expect(await base.tenant.reindexMarker.current()).toBeUndefined(); // released when done
  });
});

describe('/kb reindex longer than Discord lets a reply be edited', () => {
  it('posts its result in the log channel, saying why, when the 15-minute token has expired', async () => {
    const many: RawArticle[] = Array.from({ length: 12 }, (_, i) => ({
      title: `Ferry log ${i}`,
      body: `On day ${i} the ferry crossed ${i % 4} times and the harbour master noted calm seas at the breakwater.`,
      origin: `ferry-${i}`,
    }));
    const { fake, embedder, logChannelId } = await boot({}, {}, many, { interactionTokenTtlMs: 400 });
    embedder.delayMs = 700; // one embedding request outlasts the token
    const sent = await kb(fake, 'reindex');
    expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    const post = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${logChannelId}/messages` && /15 minutes/.test(r.body.content ?? ''));
    expect(post.body.embeds[0].title).toMatch(/Reindexed/);
    expect(post.body.allowed_mentions).toEqual({ parse: [] });
  });
});

describe('knowledge/ stays in step', () => {
  it('an article added from Discord is a Markdown file that npm run ingest finds unchanged', async () => {
    const { fake, kb: base, knowledge } = await boot();
    const sent = await kb(fake, 'add', [{ type: 11, name: 'file', value: fake.createAttachment({ filename: 'notes.txt', data: 'Ferry timetable\n\nThe ferry leaves at seven, at noon and at five, every day except Christmas Day.' }) }]);
    await finalEdit(fake, sent, /Added/);
    const file = join(knowledge, 'ferry-timetable.md');
    expect(readFileSync(file, 'utf8')).toMatch(/^---\ntitle: "Ferry timetable"\n/);
    const { ingestDirectory } = await import('../src/app.js');
    const report = await ingestDirectory(base, knowledge);
    expect(report).toMatchObject({ articles: 2, unchanged: 2, added: 0, updated: 0 });
  });
});
