import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type Guild,
  MessageFlags,
  Partials,
  PermissionFlagsBits,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type ClientOptions,
  type Interaction,
  type Message,
} from 'discord.js';
import { FakeDiscord, shardOf, snowflakeOnShard } from './helpers/fake-discord.js';

let fake: FakeDiscord | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.destroy();
  await fake?.close();
  client = undefined;
  fake = undefined;
});

/** Starts a fake + a real discord.js client and resolves once `clientReady` fired. */
async function boot(
  clientOptions: Partial<ClientOptions> = {},
  fakeOptions: Parameters<typeof FakeDiscord.start>[0] = {},
): Promise<{ fake: FakeDiscord; client: Client; loginMs: number }> {
  fake = await FakeDiscord.start(fakeOptions);
  client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    rest: { api: fake.apiUrl },
    ...clientOptions,
  });
  const started = performance.now();
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
  return { fake, client, loginMs: performance.now() - started };
}

/** Collects handler errors so a throwing handler fails the test instead of vanishing. */
function onInteraction(c: Client, handler: (i: Interaction) => Promise<void>): Error[] {
  const errors: Error[] = [];
  c.on(Events.InteractionCreate, (i) => {
    handler(i).catch((e: Error) => errors.push(e));
  });
  return errors;
}

describe('FakeDiscord drives the real discord.js Client', () => {
  it('logs in quickly and caches the guild, channel, roles and bot member', async () => {
    const { fake, client, loginMs } = await boot();
    console.log(`[fake-discord] login -> clientReady took ${loginMs.toFixed(1)} ms (first client, cold)`);
    expect(loginMs).toBeLessThan(1000);


    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.application?.id).toBe(fake.applicationId);
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    const channel = client.channels.cache.get(fake.channelId);
    expect(channel?.type).toBe(ChannelType.GuildText);
    expect(guild?.roles.everyone.id).toBe(fake.guildId);
    expect(guild?.members.me?.id).toBe(fake.botUser.id);
    expect(channel?.isTextBased() && !channel.isDMBased() && channel.permissionsFor(guild!.members.me!)?.has('SendMessages')).toBe(true);

    // What discord.js did on the wire.
    expect(fake.requestsMatching('GET', '/gateway/bot')).toHaveLength(1);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bot ${fake.token}`);
    expect(fake.requests[0]!.apiVersion).toBe(10);
    expect(fake.gatewayConnectionUrls).toEqual(['/?v=10&encoding=json']);
    const identify = await fake.waitForGatewayPayload((p) => p.op === 2);
    expect(identify.d).toMatchObject({ token: fake.token, intents: (1 << 0) | (1 << 9), shard: [0, 1] });

    // A second login in the same process (warm modules/JIT); afterEach cleans this one up.
    await client.destroy();
    await fake.close();
    const again = await boot();
    console.log(`[fake-discord] login -> clientReady took ${again.loginMs.toFixed(1)} ms (warm)`);
    expect(again.loginMs).toBeLessThan(1000);
  });

  it('slash command: deferReply({ ephemeral }) + editReply({ embeds }), subcommands and attachments', async () => {
    const { fake, client } = await boot();
    const seen: string[] = [];
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      seen.push(`${i.commandName} ${i.options.getSubcommand(false) ?? '-'} ${i.options.getString('url') ?? ''}`);
      await i.deferReply({ ephemeral: true });
      const file = i.options.getAttachment('file');
      const text = file ? await (await fetch(file.url)).text() : 'no file';
      await i.editReply({
        embeds: [new EmbedBuilder().setTitle('Answer').setDescription(`${i.options.getString('url')} | ${text}`)],
      });
    });

    const attachment = fake.createAttachment({ filename: 'article.txt', data: 'Hello article' });
    const sent = await fake.sendSlashCommand({
      name: 'article',
      options: [
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'add',
          options: [
            { type: ApplicationCommandOptionType.String, name: 'url', value: 'https://example.com/a' },
            { type: ApplicationCommandOptionType.Attachment, name: 'file', value: attachment },
          ],
        },
      ],
    });

    const callback = await sent.waitForCallback();
    expect(callback.path).toBe(`/interactions/${sent.id}/${sent.token}/callback`);
    expect(callback.body).toEqual({ type: 5, data: { flags: MessageFlags.Ephemeral } });
    expect(callback.status).toBe(204);

    const edit = await sent.waitForEditOriginal();
    expect(edit.path).toBe(`/webhooks/${fake.applicationId}/${sent.token}/messages/@original`);
    expect(edit.rawPath).toContain('%40original');
    expect(edit.headers.authorization).toBeUndefined(); // interaction webhooks are unauthenticated
    expect(edit.body.embeds).toEqual([
      { title: 'Answer', description: 'https://example.com/a | Hello article' },
    ]);
    expect(seen).toEqual(['article add https://example.com/a']);
    expect(errors).toEqual([]);

    const state = fake.interaction(sent.token);
    expect(state).toMatchObject({ acknowledged: true, responseType: 5, ephemeral: true });
    expect(state?.original?.embeds[0]?.title).toBe('Answer');
    expect(fake.channelMessages()).toHaveLength(0); // ephemeral replies are not in channel history
  });

  it('buttons: update() and reply()', async () => {
    const { fake, client } = await boot();
    const errors = onInteraction(client, async (i) => {
      if (!i.isButton()) return;
      if (i.customId === 'more') {
        await i.update({ content: 'expanded', components: [] });
      } else {
        await i.reply({ content: `you clicked ${i.customId} on ${i.message.id}`, flags: MessageFlags.Ephemeral });
      }
    });

    // A real bot message with a button, posted through REST.
    const channel = client.channels.cache.get(fake.channelId);
    if (!channel?.isSendable()) throw new Error('channel not sendable');
    const posted = await channel.send({
      content: 'answer',
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('more').setLabel('More').setStyle(ButtonStyle.Primary),
        ),
      ],
    });

    const update = await fake.sendButton({ customId: 'more', messageId: posted.id });
    const cb1 = await update.waitForCallback();
    expect(cb1.body).toMatchObject({ type: 7, data: { content: 'expanded', components: [] } });
    expect(fake.getMessage(fake.channelId, posted.id)?.content).toBe('expanded');

    const reply = await fake.sendButton({ customId: 'source' });
    const cb2 = await reply.waitForCallback();
    expect(cb2.body).toEqual({
      type: 4,
      data: expect.objectContaining({ content: `you clicked source on ${reply.messageId}`, flags: 64 }),
    });
    expect(errors).toEqual([]);
  });

  it('message context menu exposes targetMessage', async () => {
    const { fake, client } = await boot();
    const errors = onInteraction(client, async (i) => {
      if (!i.isMessageContextMenuCommand()) return;
      await i.reply({ content: `summarising: ${i.targetMessage.content} by ${i.targetMessage.author.id}` });
    });
    const sent = await fake.sendMessageContextMenu({
      name: 'Summarise article',
      targetMessage: { content: 'https://example.com/long-read' },
    });
    const cb = await sent.waitForCallback();
    expect(cb.body.data.content).toBe(`summarising: https://example.com/long-read by ${fake.userId}`);
    expect(errors).toEqual([]);
  });

  it('mention -> messageCreate, startThread + thread.send, then a follow-up inside the thread', async () => {
    const { fake, client } = await boot({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    });
    const events: string[] = [];
    const errors: Error[] = [];
    let sawOwnFollowUp!: () => void;
    const ownFollowUpSeen = new Promise<void>((resolve) => (sawOwnFollowUp = resolve));
    client.on(Events.MessageCreate, (message: Message) => {
      void (async () => {
        events.push(`${message.author.bot ? 'bot' : 'user'}:${message.channelId}:${message.content}`);
        if (message.author.id === client.user!.id && message.content.startsWith('follow-up')) sawOwnFollowUp();
        if (message.author.id === client.user!.id) return; // ignore own messages
        if (message.channel.isThread()) {
          const history = await message.channel.messages.fetch({ limit: 10 });
          await message.channel.send(`follow-up answer (history ${history.size})`);
          return;
        }
        if (!message.mentions.has(client.user!)) return;
        const thread = await message.startThread({ name: 'Q: what is it?' });
        await thread.send('here is the answer');
      })().catch((e: Error) => errors.push(e));
    });

    const question = await fake.sendMessage({ content: 'what is the article about?', mentionsBot: true });
    expect(question.content).toBe(`<@${fake.botUser.id}> what is the article about?`);

    const createThread = await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${fake.channelId}/messages/${question.id}/threads`,
    );
    expect(createThread.body).toMatchObject({ name: 'Q: what is it?' });
    const threadId = (createThread.response as { id: string }).id;
    expect(fake.getChannel(threadId)).toMatchObject({ type: 11, parent_id: fake.channelId });

    const answer = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`);
    expect(answer.body).toMatchObject({ content: 'here is the answer' });
    expect(client.channels.cache.get(threadId)?.isThread()).toBe(true);

    // The user follows up inside the thread (no mention).
    await fake.sendMessage({ content: 'and who wrote it?', threadOf: question.id });
    await fake.waitForRequest((r) => r.method === 'GET' && r.path === `/channels/${threadId}/messages`);
    const followUp = await fake.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages` && /follow-up/.test(r.body?.content),
    );
    // history: starter (type 21) + bot answer + user follow-up
    expect(followUp.body.content).toBe('follow-up answer (history 3)');
    // The bot's own messages came back through the gateway (and were ignored).
    await ownFollowUpSeen;
    expect(events).toContain(`bot:${threadId}:here is the answer`);
    expect(events).toContain(`user:${threadId}:and who wrote it?`);
    expect(fake.requestsMatching('POST', /\/messages$/)).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('without the MessageContent intent, non-mention user messages arrive with empty content', async () => {
    const { fake, client } = await boot();
    const got = new Promise<Message>((resolve) => client.on(Events.MessageCreate, resolve));
    await fake.sendMessage({ content: 'secret text' });
    expect((await got).content).toBe('');
  });

  it('autocomplete respond() is recorded', async () => {
    const { fake, client } = await boot();
    const errors = onInteraction(client, async (i) => {
      if (!i.isAutocomplete()) return;
      const focused = i.options.getFocused(true);
      await i.respond([{ name: `${focused.name}=${focused.value}…`, value: 'a1' }]);
    });
    const sent = await fake.sendAutocomplete({
      name: 'ask',
      options: [{ type: ApplicationCommandOptionType.String, name: 'article', value: 'clim' }],
    });
    const cb = await sent.waitForCallback();
    expect(cb.body).toEqual({ type: 8, data: { choices: [{ name: 'article=clim…', value: 'a1' }] } });
    expect(fake.interaction(sent.token)?.autocompleteChoices).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('modal submit fields are readable', async () => {
    const { fake, client } = await boot();
    const errors = onInteraction(client, async (i) => {
      if (!i.isModalSubmit()) return;
      await i.reply({ content: `got ${i.fields.getTextInputValue('question')}`, flags: MessageFlags.Ephemeral });
    });
    const sent = await fake.sendModalSubmit({ customId: 'ask-modal', fields: { question: 'Why?' } });
    expect((await sent.waitForCallback()).body.data.content).toBe('got Why?');
    expect(errors).toEqual([]);
  });

  it('registers guild commands via rest.put and follow-ups work', async () => {
    const { fake, client } = await boot();
    const body = [
      { name: 'ask', description: 'Ask about articles', options: [] },
      { name: 'Summarise article', type: 3 },
    ];
    const result = (await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guildId), {
      body,
    })) as Array<{ id: string; name: string }>;
    const put = await fake.waitForRequest(
      (r) => r.method === 'PUT' && r.path === `/applications/${fake.applicationId}/guilds/${fake.guildId}/commands`,
    );
    expect(put.body).toEqual(body);
    expect(result.map((c) => c.name)).toEqual(['ask', 'Summarise article']);
    expect(fake.commands(fake.guildId).map((c) => c.id)).toEqual(result.map((c) => c.id));

    // The command id of a registered command is used in interactions; follow-ups return messages.
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      expect(i.commandId).toBe(result[0]!.id);
      await i.reply({ content: 'working…' });
      const msg = await i.followUp({ content: 'done' });
      expect(msg.content).toBe('done');
    });
    const sent = await fake.sendSlashCommand({ name: 'ask' });
    const followUp = await sent.waitForFollowUp();
    expect(followUp.query).toMatchObject({ wait: 'true' });
    expect(fake.channelMessages().map((m) => m.content)).toEqual(['working…', 'done']);
    expect(errors).toEqual([]);
  });

  it('reply({ withResponse }), fetchReply, deleteReply, showModal and Discord-side validation', async () => {
    const { fake, client } = await boot();
    const results: string[] = [];
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const errors = onInteraction(client, async (i) => {
      if (i.isChatInputCommand() && i.commandName === 'modal') {
        await i.showModal({
          customId: 'ask-modal',
          title: 'Ask',
          components: [
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder().setCustomId('question').setLabel('Question').setStyle(TextInputStyle.Short),
            ),
          ],
        });
        return;
      }
      if (!i.isChatInputCommand()) return;
      const response = await i.reply({ content: 'first', withResponse: true });
      results.push(`resource:${response.resource?.message?.content}`);
      results.push(`fetched:${(await i.fetchReply()).content}`);
      const tooLong = await i.followUp({ content: 'x'.repeat(2001) }).catch((e: { code: number }) => e.code);
      results.push(`tooLong:${String(tooLong)}`);
      await i.deleteReply();
      results.push('deleted');
      finished();
    });

    const sent = await fake.sendSlashCommand({ name: 'ask' });
    const del = await fake.waitForRequest((r) => r.method === 'DELETE' && r.path.endsWith(`${sent.token}/messages/@original`));
    expect(del.status).toBe(204);
    expect((await sent.waitForCallback()).query).toEqual({ with_response: 'true' });
    await done;
    expect(results).toEqual(['resource:first', 'fetched:first', 'tooLong:50035', 'deleted']);

    const modal = await fake.sendSlashCommand({ name: 'modal' });
    expect((await modal.waitForCallback()).body).toMatchObject({ type: 9, data: { custom_id: 'ask-modal', title: 'Ask' } });
    expect(fake.interaction(modal.token)?.modal?.custom_id).toBe('ask-modal');
    expect(errors).toEqual([]);
  });

  it('parses multipart uploads (payload_json + files) and serves the uploaded attachment', async () => {
    const { fake, client } = await boot();
    const channel = client.channels.cache.get(fake.channelId);
    if (!channel?.isSendable()) throw new Error('channel not sendable');
    const sent = await channel.send({
      content: 'report attached',
      files: [{ attachment: Buffer.from('# Summary\nshort'), name: 'summary.md', description: 'the summary' }],
    });
    const req = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${fake.channelId}/messages`);
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(req.body).toMatchObject({ content: 'report attached', attachments: [{ id: '0', description: 'the summary' }] });
    expect(req.files).toMatchObject([{ field: 'files[0]', filename: 'summary.md', size: 15 }]);
    expect(req.files[0]!.data.toString()).toBe('# Summary\nshort');
    const attachment = sent.attachments.first();
    expect(attachment?.name).toBe('summary.md');
    expect(await (await fetch(attachment!.url)).text()).toBe('# Summary\nshort');
  });

  it('records unknown routes as Discord-shaped 404s and explains waitForRequest time-outs', async () => {
    const { fake, client } = await boot();
    await expect(client.rest.get('/nope/123')).rejects.toMatchObject({ status: 404, code: 0 });
    expect(fake.requestsMatching('GET', '/nope/123')[0]?.response).toEqual({ message: '404: Not Found', code: 0 });
    await expect(client.rest.get(Routes.channel('1'))).rejects.toMatchObject({ code: 10003 });
    await expect(fake.waitForRequest((r) => r.path === '/never', 50)).rejects.toThrow(/GET \/nope\/123 -> 404/);
  });

  it('answers heartbeats and survives a server-side disconnect by RESUMING', async () => {
    const { fake, client } = await boot({}, { heartbeatIntervalMs: 25 });
    await fake.waitForGatewayPayload((p) => p.op === 1);
    await new Promise<void>((resolve) =>
      client.on(Events.Debug, (m) => {
        if (/Heartbeat acknowledged/.test(m)) resolve();
      }),
    );

    const resumed = new Promise<void>((resolve) => client.on(Events.ShardResume, () => resolve()));
    fake.disconnectClients(4000);
    await fake.waitForGatewayPayload((p) => p.op === 6);
    await resumed;
    expect(fake.connectedSessions).toBe(1);

    // Still fully functional after the resume.
    const got = new Promise<Message>((resolve) => client.on(Events.MessageCreate, resolve));
    await fake.sendMessage({ content: 'after resume', mentionsBot: true });
    expect((await got).content).toContain('after resume');
  });
});

describe('FakeDiscord with several guilds', () => {
  it('READY + GUILD_CREATE for every guild; interactions carry the guild and its member permissions', async () => {
    const { fake, client } = await boot({}, { guilds: [{ name: 'Guild B' }] });
    const [a, b] = fake.guildIds as [string, string];
    expect(a).toBe(fake.guildId);
    expect(fake.guildIds).toHaveLength(2);
    expect([...client.guilds.cache.keys()].sort()).toEqual([a, b].sort());
    const guildB = client.guilds.cache.get(b)!;
    expect(guildB.name).toBe('Guild B');
    expect(guildB.available).toBe(true);
    expect(guildB.roles.everyone.id).toBe(b);
    expect(guildB.members.me?.id).toBe(fake.botUser.id);
    expect(guildB.channels.cache.map((c) => c.id)).toEqual([fake.guildChannelId(b)]);
    expect(client.guilds.cache.get(a)!.channels.cache.map((c) => c.id)).toEqual([fake.channelId]);

    // The same user manages server B (through a role of B) but not server A.
    const roleCreated = once(client, Events.GuildRoleCreate);
    const managers = await fake.createRole({ guildId: b, name: 'managers', permissions: PermissionFlagsBits.ManageGuild });
    await roleCreated;
    expect(guildB.roles.cache.has(managers.id)).toBe(true);
    expect(client.guilds.cache.get(a)!.roles.cache.has(managers.id)).toBe(false);
    const seen: Array<{ guildId: string | null; channelId: string | null; manage: boolean | undefined; guild: string | undefined }> = [];
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      seen.push({
        guildId: i.guildId,
        channelId: i.channelId,
        manage: i.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        guild: i.guild?.name,
      });
      await i.reply({ content: `hello ${i.guild?.name}` });
    });
    const inB = await fake.sendSlashCommand({ name: 'settings', guildId: b, roles: [managers.id] });
    await inB.waitForCallback();
    const inA = await fake.sendSlashCommand({ name: 'settings' });
    await inA.waitForCallback();
    expect(seen).toEqual([
      { guildId: b, channelId: fake.guildChannelId(b), manage: true, guild: 'Guild B' },
      { guildId: a, channelId: fake.channelId, manage: false, guild: 'Fake Guild' },
    ]);
    expect(inB.payload.guild_id).toBe(b);
    expect(fake.interaction(inB.token)).toMatchObject({ guildId: b, channelId: fake.guildChannelId(b) });
    // Replies land in each guild's own channel.
    expect(fake.channelMessages(fake.guildChannelId(b)).map((m) => m.content)).toEqual(['hello Guild B']);
    expect(fake.channelMessages().map((m) => m.content)).toEqual(['hello Fake Guild']);

    // The owner of B has every permission there; @everyone of B decides for plain members.
    const owned = await fake.sendSlashCommand({ name: 'settings', guildId: b, userId: fake.ownerId });
    await owned.waitForCallback();
    expect(seen[2]).toMatchObject({ guildId: b, manage: true });

    // Buttons / modals / context menus / autocomplete in a channel of B are B's interactions.
    const channelCreated = once(client, Events.ChannelCreate);
    const extra = await fake.createTextChannel({ guildId: b, name: 'b-extra' });
    await channelCreated;
    expect(client.channels.cache.get(extra.id)?.isDMBased()).toBe(false);
    expect((client.channels.cache.get(extra.id) as { guildId?: string }).guildId).toBe(b);
    const button = await fake.sendButton({ customId: 'x', channelId: extra.id });
    expect(button.payload).toMatchObject({ guild_id: b, channel_id: extra.id });
    const ac = await fake.sendAutocomplete({ name: 'ask', guildId: b, options: [{ type: 3, name: 'q', value: 'c' }] });
    expect(ac.payload.guild_id).toBe(b);
    const modal = await fake.sendModalSubmit({ customId: 'm', fields: { q: 'x' }, guildId: b });
    expect(modal.payload).toMatchObject({ guild_id: b, channel_id: fake.guildChannelId(b) });
    const ctx = await fake.sendMessageContextMenu({ name: 'Summarise', guildId: b, targetMessage: { content: 'in b' } });
    expect(ctx.payload).toMatchObject({ guild_id: b, channel_id: fake.guildChannelId(b) });
    expect(errors).toEqual([]);
  });

  it('sendMessage / createThread in another guild arrive with that guild and member', async () => {
    const { fake, client } = await boot(
      { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent] },
      { guilds: [{ name: 'Guild B' }] },
    );
    const b = fake.guildIds[1]!;
    const got = new Promise<Message>((resolve) => client.on(Events.MessageCreate, resolve));
    const sent = await fake.sendMessage({ content: 'hi from B', guildId: b });
    const message = await got;
    expect(message.guildId).toBe(b);
    expect(message.channelId).toBe(fake.guildChannelId(b));
    expect(message.member?.guild.id).toBe(b);
    expect(sent).toMatchObject({ guild_id: b });

    const thread = await fake.createThread({ guildId: b, name: 'b thread' });
    expect(thread.guild_id).toBe(b);
    expect(thread.parent_id).toBe(fake.guildChannelId(b));
    const inThread = new Promise<Message>((resolve) => client.on(Events.MessageCreate, resolve));
    await fake.sendMessage({ content: 'in the thread', channelId: thread.id });
    expect((await inThread).guildId).toBe(b);

    // The bot answers in B's channel through REST; the echo is B's too.
    const channel = client.channels.cache.get(fake.guildChannelId(b));
    if (!channel?.isSendable()) throw new Error('channel not sendable');
    const reply = await channel.send('answer in B');
    expect(reply.guildId).toBe(b);
    expect(fake.channelMessages(fake.guildChannelId(b)).map((m) => m.content)).toEqual(['hi from B', 'answer in B']);
  });

  it('addGuild after login fires guildCreate; removeGuild fires guildDelete; REST follows', async () => {
    const { fake, client } = await boot();
    const created = new Promise<Guild>((resolve) => client.on(Events.GuildCreate, resolve));
    const { id, channelId } = await fake.addGuild({ name: 'Joined later', everyonePermissions: 0n });
    const guild = await created;
    expect(guild.id).toBe(id);
    expect(guild.name).toBe('Joined later');
    expect(guild.channels.cache.has(channelId)).toBe(true);
    expect(fake.guildIds).toEqual([fake.guildId, id]);

    // Per-guild REST.
    expect(await client.rest.get(Routes.guild(id))).toMatchObject({ id, name: 'Joined later' });
    expect(await client.rest.get(Routes.guildChannels(id))).toMatchObject([{ id: channelId, guild_id: id }]);
    expect(await client.rest.get(Routes.guildMember(id, fake.userId))).toMatchObject({ user: { id: fake.userId } });
    expect(((await client.rest.get(Routes.guildRoles(id))) as Array<{ id: string }>).map((r) => r.id)).toContain(id);
    const put = await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, id), {
      body: [{ name: 'ask', description: 'Ask' }],
    });
    expect(put).toMatchObject([{ name: 'ask', guild_id: id }]);
    expect(fake.commands(id)).toHaveLength(1);
    expect(fake.commands(fake.guildId)).toHaveLength(0);
    await expect(client.rest.get(Routes.guild('123456789012345678'))).rejects.toMatchObject({ status: 404, code: 10004 });

    // @everyone of the new guild has no permissions: a plain member has none there.
    let perms: bigint | undefined;
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      perms = i.memberPermissions?.bitfield;
      await i.reply('ok');
    });
    await (await fake.sendSlashCommand({ name: 'ask', guildId: id })).waitForCallback();
    expect(perms).toBe(0n);

    const deleted = new Promise<Guild>((resolve) => client.on(Events.GuildDelete, resolve));
    await fake.removeGuild(id);
    expect((await deleted).id).toBe(id);
    expect(client.guilds.cache.has(id)).toBe(false);
    expect(fake.guildIds).toEqual([fake.guildId]);
    await expect(client.rest.get(Routes.guild(id))).rejects.toMatchObject({ status: 403, code: 50001 });
    await expect(client.rest.get(Routes.channel(channelId))).rejects.toMatchObject({ status: 403, code: 50001 });
    await expect(fake.sendSlashCommand({ name: 'ask', guildId: id })).rejects.toThrow(/removed from guild/);

    // Guild#leave() does the same from the bot's side.
    const joined = once(client, Events.GuildCreate);
    const { id: other } = await fake.addGuild();
    await joined;
    const left = new Promise<Guild>((resolve) => client.on(Events.GuildDelete, (g) => g.id === other && resolve(g)));
    await client.guilds.cache.get(other)!.leave();
    await left;
    expect(fake.guildIds).toEqual([fake.guildId]);
    expect(errors).toEqual([]);
  });

  it('DM interactions: no guild, no member, the user and a DM channel', async () => {
    const { fake, client } = await boot();
    const seen: unknown[] = [];
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      seen.push({ inGuild: i.inGuild(), guildId: i.guildId, user: i.user.id, member: i.member, channelId: i.channelId });
      await i.reply({ content: 'dm answer' });
    });
    const sent = await fake.sendSlashCommand({ name: 'ask', dm: true });
    await sent.waitForCallback();
    expect(seen).toEqual([
      { inGuild: false, guildId: null, user: fake.userId, member: null, channelId: fake.dmChannelId() },
    ]);
    expect(sent.payload).not.toHaveProperty('guild_id');
    expect(sent.payload).not.toHaveProperty('member');
    expect(sent.payload).toMatchObject({ user: { id: fake.userId }, channel: { type: 1 }, context: 1 });
    expect(fake.interaction(sent.token)?.guildId).toBeNull();
    expect(fake.channelMessages(fake.dmChannelId()).map((m) => m.content)).toEqual(['dm answer']);
    expect(errors).toEqual([]);
  });
  it('DM messages: sendMessage({ dm: true }) and the bot answering with user.send()', async () => {
    const { fake, client } = await boot({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
    });
    const got = new Promise<Message>((resolve) => client.on(Events.MessageCreate, resolve));
    const sent = await fake.sendMessage({ content: 'private question', dm: true });
    const message = await got;
    expect(message.guildId).toBeNull();
    expect(message.channel.isDMBased()).toBe(true);
    expect(message.content).toBe('private question'); // DMs are not redacted without MessageContent
    expect(sent.channel_id).toBe(fake.dmChannelId());

    const answer = await message.author.send('private answer');
    expect(answer.channelId).toBe(fake.dmChannelId());
    expect(fake.channelMessages(fake.dmChannelId()).map((m) => m.content)).toEqual(['private question', 'private answer']);

    // A DM the client does not know yet goes through POST /users/@me/channels.
    const ownerDm = await client.users.createDM(fake.ownerId);
    expect(ownerDm.id).toBe(fake.dmChannelId(fake.ownerId));
    expect(fake.requestsMatching('POST', '/users/@me/channels')).toMatchObject([{ body: { recipient_id: fake.ownerId } }]);
  });
});

describe('FakeDiscord gateway sharding', () => {
  it("shards: 'auto' gets one connection per shard, each with its guilds; events go to the guild's shard", async () => {
    const lines: string[] = [];
    const guildA = snowflakeOnShard(0, 2);
    const started = performance.now();
    const { fake, client } = await boot(
      { shards: 'auto' },
      { shards: 2, guildId: guildA, guilds: [{ name: 'Guild B', shard: 1 }], log: (l) => lines.push(l) },
    );
    const loginMs = performance.now() - started;
    const b = fake.guildIds[1]!;
    expect(shardOf(guildA, 2)).toBe(0);
    expect(shardOf(b, 2)).toBe(1);
    expect(loginMs).toBeLessThan(3000); // no 5 s identify wait between the shards

    expect((await client.rest.get(Routes.gatewayBot())) as { shards: number }).toMatchObject({ shards: 2 });
    const identifies = fake.gatewayPayloads.filter((p) => p.op === 2);
    expect(identifies.map((p) => (p.d as { shard: number[] }).shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const connectionOfShard = new Map(identifies.map((p) => [(p.d as { shard: number[] }).shard[0]!, p.connection]));
    const dispatchesOn = (shard: number, event: string) =>
      lines.filter((l) => l.startsWith(`[gateway #${connectionOfShard.get(shard)}] -> op 0 ${event} `)).length;

    // Each shard got READY and the GUILD_CREATE of its own guild only (discord.js records the shard).
    expect(client.guilds.cache.get(guildA)?.shardId).toBe(0);
    expect(client.guilds.cache.get(b)?.shardId).toBe(1);
    expect([dispatchesOn(0, 'READY'), dispatchesOn(1, 'READY')]).toEqual([1, 1]);
    expect([dispatchesOn(0, 'GUILD_CREATE'), dispatchesOn(1, 'GUILD_CREATE')]).toEqual([1, 1]);

    // An interaction from each guild arrives, on its guild's shard; a DM one on shard 0.
    const seen: Array<string | null> = [];
    const errors = onInteraction(client, async (i) => {
      if (!i.isChatInputCommand()) return;
      seen.push(i.guildId);
      await i.reply('ok');
    });
    await (await fake.sendSlashCommand({ name: 'ask', guildId: b })).waitForCallback();
    expect([dispatchesOn(0, 'INTERACTION_CREATE'), dispatchesOn(1, 'INTERACTION_CREATE')]).toEqual([0, 1]);
    await (await fake.sendSlashCommand({ name: 'ask' })).waitForCallback();
    expect([dispatchesOn(0, 'INTERACTION_CREATE'), dispatchesOn(1, 'INTERACTION_CREATE')]).toEqual([1, 1]);
    await (await fake.sendSlashCommand({ name: 'ask', dm: true })).waitForCallback();
    expect([dispatchesOn(0, 'INTERACTION_CREATE'), dispatchesOn(1, 'INTERACTION_CREATE')]).toEqual([2, 1]);
    expect(seen).toEqual([b, guildA, null]);

    // Message events too (the bot's own reply echoes went to the guild's shard as well).
    const got = new Promise<Message>((resolve) => client.on(Events.MessageCreate, (m) => m.author.id !== fake.botUser.id && resolve(m)));
    await fake.sendMessage({ content: 'hello', guildId: b, mentionsBot: true });
    expect((await got).guildId).toBe(b);
    expect(dispatchesOn(1, 'MESSAGE_CREATE')).toBe(2); // reply echo + this message
    expect(dispatchesOn(0, 'MESSAGE_CREATE')).toBe(1); // reply echo in A (the DM echo is dropped: no DirectMessages intent)

    // A guild joined later shows up on its shard.
    const created = once(client, Events.GuildCreate);
    const { id: c } = await fake.addGuild({ shard: 1 });
    const [guildC] = (await created) as [Guild];
    expect(guildC.id).toBe(c);
    expect(guildC.shardId).toBe(1);
    expect(errors).toEqual([]);
  });
});
