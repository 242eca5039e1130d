import { afterEach, describe, expect, it } from 'vitest';
import { PermissionFlagsBits } from 'discord.js';
import { commandPayloads, commands } from '../src/bot/commands/index.js';
import { BOT_PERMISSIONS, inviteUrl } from '../src/bot/permissions.js';
import { registerCommands } from '../src/bot/register.js';
import { FakeDiscord } from './helpers/fake-discord.js';

let fake: FakeDiscord | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Every command the bot defines, in registry order (ask, the context menu, then /kb, ...). */
const NAMES = commandPayloads().map((c) => c.name);

describe('npm run register', () => {
  it('registers to GUILD_ID with one bulk PUT; running it twice changes nothing', async () => {
    fake = await FakeDiscord.start();
    const options = { token: fake.token, clientId: fake.applicationId, guildId: fake.guildId, apiUrl: fake.apiUrl };
    const first = await registerCommands(options);
    expect(NAMES.slice(0, 2)).toEqual(['ask', 'Ask the knowledge base']);
    expect(NAMES).toContain('kb');
    expect(first).toMatchObject({ scope: 'guild', added: NAMES, removed: [] });
    const puts = fake.requestsMatching('PUT', `/applications/${fake.applicationId}/guilds/${fake.guildId}/commands`);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.body).toEqual(commandPayloads());
    const ask = puts[0]!.body.find((c: { name: string }) => c.name === 'ask');
    expect(ask.options.map((o: { name: string }) => o.name)).toEqual(['question', 'private']);
    expect(puts[0]!.body.find((c: { name: string }) => c.name === 'Ask the knowledge base')).toMatchObject({ type: 3 });

    const second = await registerCommands(options);
    expect(second).toMatchObject({ added: [], removed: [], kept: NAMES });
    expect(second.commands.map((c) => c.id)).toEqual(first.commands.map((c) => c.id));
    expect(fake.commands(fake.guildId)).toHaveLength(NAMES.length);
    expect(fake.commands()).toHaveLength(0); // nothing global
  });

  it('registers globally without GUILD_ID, finds the application id from the token, and --clear removes', async () => {
    fake = await FakeDiscord.start();
    const result = await registerCommands({ token: fake.token, apiUrl: fake.apiUrl, maxQuestionChars: 500 });
    expect(result).toMatchObject({ scope: 'global', clientId: fake.applicationId });
    expect(fake.commands().map((c) => c.name).sort()).toEqual([...NAMES].sort());
    const ask = fake.commands().find((c) => c.name === 'ask');
    expect(ask?.options?.[0]).toMatchObject({ name: 'question', max_length: 500 });
    const cleared = await registerCommands({ token: fake.token, apiUrl: fake.apiUrl, clear: true });
    expect(cleared.removed.sort()).toEqual([...NAMES].sort());
    expect(fake.commands()).toHaveLength(0);
  });

  it('every command has a handler, and the invite asks for exactly the documented permissions', () => {
    expect([...commands.keys()]).toEqual(NAMES);
    for (const command of commands.values()) expect(typeof command.execute).toBe('function');
    expect(BOT_PERMISSIONS).toBe(309237730304n);
    expect(BOT_PERMISSIONS).toBe(
      PermissionFlagsBits.ViewChannel |
        PermissionFlagsBits.SendMessages |
        PermissionFlagsBits.CreatePublicThreads |
        PermissionFlagsBits.SendMessagesInThreads |
        PermissionFlagsBits.EmbedLinks |
        PermissionFlagsBits.ReadMessageHistory,
    );
    expect(BOT_PERMISSIONS & PermissionFlagsBits.Administrator).toBe(0n);
    expect(BOT_PERMISSIONS & PermissionFlagsBits.MentionEveryone).toBe(0n);
    expect(inviteUrl('123456789012345678')).toBe(
      'https://discord.com/oauth2/authorize?client_id=123456789012345678&scope=bot%20applications.commands&permissions=309237730304',
    );
  });
});
