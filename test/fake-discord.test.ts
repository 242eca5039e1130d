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
  MessageFlags,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type ClientOptions,
  type Interaction,
  type Message,
} from 'discord.js';
import { FakeDiscord } from './helpers/fake-discord.js';

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
