/**
 * Running a larger bot: gateway shards inside the one process (DISCORD_SHARDS) against the fake
 * Discord's sharded gateway, and the operator's endpoint (HEALTH_PORT: /healthz, /metrics) read
 * over HTTP on 127.0.0.1, with the real discord.js Client and a real knowledge base.
 */
import { rmSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startBot, type RunningBot } from '../src/bot/client.js';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Embedder } from '../src/core/embed/embedder.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord, snowflakeOnShard } from './helpers/fake-discord.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { openSeedKnowledgeCopy } from './helpers/seed-knowledge.js';

const WHERE = 'Where did the talks between the U.S. and Hamas take place?';
const MOD_PERMS = (1n << 10n) | (1n << 11n) | (1n << 31n) | (1n << 5n);

/** A real embedder that can be made to fail, like a crashed model worker. */
class BreakableEmbedder implements Embedder {
  private readonly inner = new HashEmbedder();
  broken = false;
  get info() {
    return this.inner.info;
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (this.broken) throw new Error('the embedding worker exited');
    return this.inner.embed(texts);
  }
  async close(): Promise<void> {}
}

const cleanUpAfterTest = cleanUpAfterEach();

async function boot(env: Record<string, string>, fakeShards = 1, probeIntervalMs = 15_000) {
  const first = snowflakeOnShard(0, fakeShards);
  const second = snowflakeOnShard(fakeShards - 1, fakeShards);
  const fake = await FakeDiscord.start({ guildId: first, shards: fakeShards, guilds: second === first ? [] : [{ id: second }] });
  const embedder = new BreakableEmbedder();
  const { dir, knowledge, dataDir, kb } = await openSeedKnowledgeCopy('bot-ops-', embedder);
  const config = loadConfig({
    DATA_DIR: dataDir,
    KNOWLEDGE_DIR: knowledge,
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    KB_ADMIN_GUILD_IDS: first,
    ASK_COOLDOWN_SECONDS: '0',
    HEALTH_PORT: '0',
    ...env,
  });
  const app: App = { config, logger: pino({ level: 'silent' }), embedder, kb, close: async () => kb.close() };
  const bot: RunningBot = await startBot(app, { settings: { healthProbeIntervalMs: probeIntervalMs } });
  cleanUpAfterTest(async () => {
    await bot.stop();
    await fake.close();
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { fake, bot, embedder, guilds: [first, second] };
}

async function get(bot: RunningBot, path: string) {
  const res = await fetch(`${bot.health!.url}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function ask(fake: FakeDiscord, guildId: string) {
  const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: WHERE }], guildId });
  await sent.waitForCallback();
  return (await sent.waitForEditOriginal()).body.embeds[0].description as string;
}

describe('DISCORD_SHARDS: every shard in this process', () => {
  it('connects two shards, answers in a server on each, and /healthz reports each shard', async () => {
    const { fake, bot, guilds } = await boot({ DISCORD_SHARDS: '2' }, 2);
    expect(fake.requestsMatching('GET', '/gateway/bot')).not.toHaveLength(0);
    expect(bot.client.guilds.cache.get(guilds[0])?.shardId).toBe(0);
    expect(bot.client.guilds.cache.get(guilds[1])?.shardId).toBe(1);
    for (const guild of guilds) expect(await ask(fake, guild)).toContain('Qatar');

    const health = await get(bot, '/healthz');
    expect(health.status).toBe(200);
    const report = JSON.parse(health.text);
    expect(report).toMatchObject({ ok: true, store: { ok: true, articles: 1 }, model: { ok: true } });
    expect(report.shards).toEqual([
      expect.objectContaining({ id: 0, ready: true, guilds: 1 }),
      expect.objectContaining({ id: 1, ready: true, guilds: 1 }),
    ]);

    const metrics = await get(bot, '/metrics');
    expect(metrics.type).toMatch(/text\/plain/);
    expect(metrics.text).toMatch(/kbbot_questions_total\{outcome="answered"\} 2/);
    expect(metrics.text).toMatch(/kbbot_answer_seconds_count\{outcome="answered"\} 2/);
    expect(metrics.text).toMatch(/kbbot_shard_guilds\{shard="1"\} 1/);
    expect(metrics.text).toMatch(/kbbot_shard_up\{shard="0"\} 1/);
    expect(metrics.text).toMatch(/kbbot_process_resident_memory_bytes \d+/);
    expect((await get(bot, '/nope')).status).toBe(404);
  });

  it('counts ingest, and /healthz turns 503 naming the model when embedding fails', async () => {
    const { fake, bot, embedder, guilds } = await boot({}, 1, 100);
    const submit = await fake.sendModalSubmit({
      customId: 'kbadd',
      guildId: guilds[0],
      memberPermissions: MOD_PERMS,
      fields: { title: 'Harbour reopens', text: 'The harbour reopened on Friday after crews repaired the storm damage to the outer breakwater.' },
    });
    await submit.waitForCallback();
    await expect.poll(async () => (await get(bot, '/metrics')).text).toMatch(/kbbot_ingest_articles_total\{action="add"\} 1/);
    expect((await get(bot, '/metrics')).text).toMatch(/kbbot_ingest_passages_total 1/);

    expect((await get(bot, '/healthz')).status).toBe(200);
    embedder.broken = true;
    await new Promise((resolve) => setTimeout(resolve, 150)); // past the probe's cache
    const health = await get(bot, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toMatchObject({ ok: false, model: { ok: false, error: expect.stringMatching(/worker exited/) }, store: { ok: true } });
  });
});

describe('DISCORD_SHARD_PROCESSES', () => {
  it('refuses several processes over the embedded knowledge base, saying what to set instead', () => {
    expect(() => loadConfig({ DISCORD_SHARD_PROCESSES: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ DISCORD_SHARD_PROCESSES: '2' })).toThrow(/set DATABASE_URL.*DISCORD_SHARDS=auto/s);
    // With PostgreSQL every process shares the knowledge base.
    expect(loadConfig({ DISCORD_SHARD_PROCESSES: '2', DATABASE_URL: 'postgres://bot:secret@127.0.0.1:5432/kb' }).discord.shardProcesses).toBe(2);
    expect(loadConfig({ DISCORD_SHARDS: 'auto' }).discord.shards).toBe('auto');
    expect(() => loadConfig({ DISCORD_SHARDS: 'many' })).toThrow(/DISCORD_SHARDS/);
  });
});
