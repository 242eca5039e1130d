/**
 * Shards in several processes over one PostgreSQL knowledge base, end to end: `npm start`'s own
 * file (src/main.ts under tsx) as the shard supervisor with DISCORD_SHARD_PROCESSES=2, each child
 * a whole bot running one gateway shard of the fake Discord (4 servers, 2 on each shard), a real
 * PostgreSQL server (TEST_DATABASE_URL; `.ci/run` starts one), a tiny Transformers.js model, and
 * the fake language-model server (it shows what history a follow-up was answered with). Skipped
 * without a PostgreSQL server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_REPLY } from '../src/bot/supervisor.js';
import { FakeDiscord, snowflake, snowflakeOnShard, type RecordedRequest } from './helpers/fake-discord.js';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { buildTinyModel } from './helpers/tiny-model.js';

const serverUrl = process.env.TEST_DATABASE_URL;
const MOD_PERMS = (1n << 5n) | (1n << 10n) | (1n << 11n) | (1n << 31n);
const ORCHARD = {
  title: 'Quince orchard census',
  text: 'The volunteers counted four hundred and twelve quince trees in the Ballymena orchard this autumn.\n\nMost of the trees were planted by the Ferguson family in 1954.',
};

interface SupervisedHealth {
  ok: boolean;
  processes: { index: number; pid?: number; shards: number[]; up: boolean; restarts: number }[];
  shards: { id: number; ready: boolean; guilds: number }[];
  store: { ok: boolean };
  model: { ok: boolean };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!serverUrl)('DISCORD_SHARD_PROCESSES=2 on PostgreSQL', () => {
  const shardZero = [snowflakeOnShard(0, 2), snowflakeOnShard(0, 2)];
  const shardOne = [snowflakeOnShard(1, 2), snowflakeOnShard(1, 2)];
  let fake: FakeDiscord;
  let model: FakeOpenAI;
  let dir: string;
  let database: string;
  let supervisor: ChildProcess;
  let output = '';
  let healthUrl: string;
  const health = async (): Promise<SupervisedHealth> => (await fetch(`${healthUrl}/healthz`)).json() as Promise<SupervisedHealth>;

  beforeAll(async () => {
    fake = await FakeDiscord.start({ guildId: shardZero[0], shards: 2, guilds: [{ id: shardZero[1] }, { id: shardOne[0] }, { id: shardOne[1] }] });
    model = await startFakeOpenAI();
    // Written answers fail by default, so every answer is the extractive one with its sources.
    model.respond = () => ({ status: 500 });
    dir = mkdtempSync(join(tmpdir(), 'shard-processes-'));
    cpSync('knowledge', join(dir, 'knowledge'), { recursive: true });
    await buildTinyModel(join(dir, 'models'), 'test/tiny-bert');
    database = `shards_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(serverUrl!);
    url.pathname = `/${database}`;
    const port = await freePort();
    healthUrl = `http://127.0.0.1:${port}`;
    supervisor = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        DATA_DIR: join(dir, 'data'),
        KNOWLEDGE_DIR: join(dir, 'knowledge'),
        MODELS_DIR: join(dir, 'models'),
        EMBEDDING_MODEL: 'test/tiny-bert',
        DISCORD_TOKEN: fake.token,
        DISCORD_API_URL: fake.apiUrl,
        DISCORD_SHARDS: '2',
        DISCORD_SHARD_PROCESSES: '2',
        KB_ADMIN_GUILD_IDS: shardZero[0],
        ASK_COOLDOWN_SECONDS: '0',
        HEALTH_PORT: String(port),
        LLM_BASE_URL: model.baseUrl,
        LLM_MODEL: 'fake-model',
        LLM_TIMEOUT_MS: '60000',
        ANSWER_TIMEOUT_MS: '60000',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    supervisor.stdout!.on('data', (d) => (output += d));
    supervisor.stderr!.on('data', (d) => (output += d));
    await until(async () => ((await health()).ok ? true : undefined), `both shard processes ready; output:\n${output}`).catch((error) => {
      throw new Error(`${(error as Error).message}\n${output.slice(-4000)}`);
    });
  }, 240_000);

  afterAll(async () => {
    if (supervisor && supervisor.exitCode === null) {
      const exited = new Promise((resolve) => supervisor.once('exit', resolve));
      supervisor.kill('SIGTERM');
      await exited;
    }
    await fake?.close();
    await model?.close();
    if (database) {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs one shard in each process, two servers on each, and /healthz reports every shard and process', async () => {
    const report = await health();
    expect(report).toMatchObject({ ok: true, store: { ok: true }, model: { ok: true } });
    expect(report.processes).toEqual([
      expect.objectContaining({ index: 0, shards: [0], up: true, restarts: 0, pid: expect.any(Number) }),
      expect.objectContaining({ index: 1, shards: [1], up: true, restarts: 0, pid: expect.any(Number) }),
    ]);
    expect(report.processes[0]!.pid).not.toBe(report.processes[1]!.pid);
    expect(report.shards).toEqual([expect.objectContaining({ id: 0, ready: true, guilds: 2 }), expect.objectContaining({ id: 1, ready: true, guilds: 2 })]);
    const metrics = await (await fetch(`${healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/kbbot_shard_up\{shard="0"\} 1/);
    expect(metrics).toMatch(/kbbot_shard_guilds\{shard="1"\} 2/);
    expect(metrics).toMatch(/kbbot_shard_process_up\{process="1"\} 1/);
  });

  it('an article a moderator adds in a server on shard 0 is cited at once to a member of a server on shard 1', async () => {
    const submit = await fake.sendModalSubmit({ customId: 'kbadd', guildId: shardZero[0], memberPermissions: MOD_PERMS, fields: ORCHARD });
    await submit.waitForCallback();
    const added = await submit.waitForEditOriginal(30_000);
    expect(added.body.embeds[0].title).toBe(`Added: ${ORCHARD.title}`);

    const asked = await fake.sendSlashCommand({ name: 'ask', guildId: shardOne[1], options: [{ type: 3, name: 'question', value: 'How many quince trees did the volunteers count?' }] });
    expect((await asked.waitForCallback()).body.type).toBe(5);
    const answer = (await asked.waitForEditOriginal(30_000)).body.embeds[0];
    expect(answer.description).toContain('four hundred and twelve');
    expect(answer.fields[0].value).toContain(ORCHARD.title);
    const metrics = await (await fetch(`${healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/kbbot_ingest_articles_total\{action="add"\} 1/);
  });

  it('a thread follow-up is answered with its history after the process that started the thread was killed and respawned; what it left open is finished', async () => {
    const guild = shardOne[0];
    const channelId = fake.guildChannelId(guild);
    const question = await fake.sendMessage({ content: 'Who planted most of the quince trees?', guildId: guild, mentionsBot: true });
    const created = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages/${question.id}/threads`, 30_000);
    const threadId = (created.response as { id: string }).id;
    await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`, 30_000);

    // A question the language model never answers is still "thinking…" when its process dies.
    model.respond = () => ({ hang: true });
    const stuck = await fake.sendSlashCommand({ name: 'ask', guildId: guild, options: [{ type: 3, name: 'question', value: 'When were the quince trees planted?' }] });
    expect((await stuck.waitForCallback()).body.type).toBe(5);
    await until(async () => (model.requests.length > 0 ? true : undefined), 'the language model to be asked', 30_000);

    const before = await health();
    const victim = before.processes[1]!;
    process.kill(victim.pid!, 'SIGKILL');
    // The supervisor finishes the dead process's open interaction: no endless "thinking…".
    const finished: RecordedRequest = await stuck.waitForEditOriginal(30_000);
    expect(finished.body.content).toBe(INTERRUPTED_REPLY);
    expect(finished.body.allowed_mentions).toEqual({ parse: [] });

    const after = await until(async () => {
      const report = await health();
      return report.ok && report.processes[1]!.restarts === 1 ? report : undefined;
    }, 'the killed shard process to be respawned');
    expect(after.processes[1]!.pid).not.toBe(victim.pid);
    expect(after.processes[0]!.pid).toBe(before.processes[0]!.pid);
    expect(await (await fetch(`${healthUrl}/metrics`)).text()).toMatch(/kbbot_shard_process_restarts_total\{process="1"\} 1/);

    model.respond = () => ({ status: 500 });
    model.requests.length = 0;
    const mark = fake.requests.length;
    const followUp = await fake.sendMessage({ content: 'and in which year?', threadOf: question.id, mentionsBot: true, authorId: snowflake() });
    const reply = await fake.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`, 30_000, { fromIndex: mark });
    expect(reply.body.message_reference).toMatchObject({ message_id: followUp.id });
    // The respawned process read the thread's first question from the shared store.
    const prompt = model.requests[0]!.body.messages!.find((m) => m.role === 'user')!.content;
    expect(prompt).toContain('Earlier in this conversation:\nQ: Who planted most of the quince trees?');
    expect(prompt).toMatch(/Question: and in which year\?$/);
  });
});
