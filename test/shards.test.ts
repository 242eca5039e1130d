/**
 * The shard arithmetic and the supervisor's last word on an interaction a dead process left open
 * (against the fake Discord's REST, each state an interaction can be in).
 */
import { Client, GatewayIntentBits, REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planShardProcesses, SHARD_SLICE_ENV, shardOf, sliceFromEnv } from '../src/bot/shards.js';
import { finishInterrupted, INTERRUPTED_REPLY } from '../src/bot/supervisor.js';
import { FakeDiscord, shardOf as fakeShardOf, snowflake, snowflakeOnShard } from './helpers/fake-discord.js';

describe('shardOf', () => {
  it("follows Discord's (id >> 22) % count, as the fake gateway routes servers", () => {
    for (let i = 0; i < 50; i++) {
      const id = snowflake();
      for (const count of [1, 2, 3, 16]) expect(shardOf(id, count)).toBe(fakeShardOf(id, count));
    }
    expect(shardOf(snowflakeOnShard(3, 4), 4)).toBe(3);
    expect(shardOf('41771983423143937', 2)).toBe(Number((41771983423143937n >> 22n) % 2n));
    expect(() => shardOf('1', 0)).toThrow(RangeError);
  });
});

describe('planShardProcesses', () => {
  it('splits shards into contiguous slices that differ by at most one, never more slices than shards', () => {
    expect(planShardProcesses(4, 2)).toEqual([[0, 1], [2, 3]]);
    expect(planShardProcesses(5, 2)).toEqual([[0, 1, 2], [3, 4]]);
    expect(planShardProcesses(16, 3)).toEqual([
      [0, 1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15],
    ]);
    expect(planShardProcesses(2, 4)).toEqual([[0], [1]]);
    expect(planShardProcesses(1, 1)).toEqual([[0]]);
    expect(() => planShardProcesses(0, 2)).toThrow(RangeError);
    expect(() => planShardProcesses(2, 0)).toThrow(RangeError);
  });
});

describe('sliceFromEnv', () => {
  it('reads the slice the supervisor set, and refuses one that is not a slice', () => {
    expect(sliceFromEnv({})).toBeUndefined();
    expect(sliceFromEnv({ [SHARD_SLICE_ENV]: '{"ids":[2,3],"count":4}' })).toEqual({ ids: [2, 3], count: 4 });
    expect(() => sliceFromEnv({ [SHARD_SLICE_ENV]: '{"ids":[4],"count":4}' })).toThrow(/not a shard slice/);
    expect(() => sliceFromEnv({ [SHARD_SLICE_ENV]: '{"ids":[],"count":4}' })).toThrow(/set by the shard supervisor/);
  });
});

describe('finishInterrupted', () => {
  let fake: FakeDiscord;
  let rest: REST;
  // A connected client that handles nothing: the process that received the interactions and died.
  let receiver: Client;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
    rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    receiver = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    await receiver.login(fake.token);
  });
  afterAll(async () => {
    await receiver.destroy();
    await fake.close();
  });

  const ask = () => fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: 'Where were the talks?' }] });

  it('answers an interaction nobody acknowledged yet, only to the member', async () => {
    const sent = await ask();
    expect(await finishInterrupted(rest, sent)).toBe('replied');
    const callback = await sent.waitForCallback();
    expect(callback.body).toEqual({ type: 4, data: { content: INTERRUPTED_REPLY, flags: 64, allowed_mentions: { parse: [] } } });
  });

  it('replaces a reply that still says "thinking…"', async () => {
    const sent = await ask();
    await rest.post(Routes.interactionCallback(sent.id, sent.token), { body: { type: 5 }, auth: false });
    expect(await finishInterrupted(rest, sent)).toBe('edited');
    const edit = await sent.waitForEditOriginal();
    expect(edit.body).toMatchObject({ content: INTERRUPTED_REPLY, embeds: [], components: [], allowed_mentions: { parse: [] } });
    expect(fake.interaction(sent.token)?.original?.content).toBe(INTERRUPTED_REPLY);
  });

  it('leaves a finished reply as it is and adds a note only the member sees', async () => {
    const sent = await ask();
    await rest.post(Routes.interactionCallback(sent.id, sent.token), { body: { type: 4, data: { content: 'Replacing the article…' } }, auth: false });
    expect(await finishInterrupted(rest, sent)).toBe('followed-up');
    const note = await sent.waitForFollowUp();
    expect(note.body).toMatchObject({ content: INTERRUPTED_REPLY, flags: 64 });
    expect(fake.interaction(sent.token)?.original?.content).toBe('Replacing the article…');
  });
});
