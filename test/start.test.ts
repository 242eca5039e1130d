/**
 * `npm start` as a newcomer runs it: a real process (src/main.ts under tsx) with the bundled
 * encoder, an empty data folder and the shipped knowledge/ folder. Without DISCORD_TOKEN it is the
 * terminal chat; with a token and DISCORD_API_URL pointing at the loopback fake Discord it is the bot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { FakeDiscord } from './helpers/fake-discord.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';
const cleanUpAfterTest = cleanUpAfterEach();

function start(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const dataDir = mkdtempSync(join(tmpdir(), 'start-test-'));
  cleanUpAfterTest(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, KNOWLEDGE_DIR: 'knowledge', EMBEDDING_MODEL: 'bundled', LOG_FORMAT: 'json', DISCORD_TOKEN: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanUpAfterTest(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until(check: () => boolean, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; output so far:\n${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start', () => {
  it('without DISCORD_TOKEN builds the index from knowledge/ and answers in the terminal chat', async () => {
    const run = start({});
    run.child.stdin!.write(`${QUESTION}\n/quit\n`);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('Qatar');
    expect(run.stdout()).toMatch(/\[1\] Hamas and U\.S\. Efforts Toward Hostage Negotiations: A Closer Look · 10 Apr 2025 · ¶ 4/);
    expect(run.stderr()).toMatch(/Indexed 1 articles, 6 passages \(5 duplicates dropped\)/);
  });

  it('with a token logs in to Discord, registers nothing, and answers /ask with a cited embed', async () => {
    const fake = await FakeDiscord.start();
    cleanUpAfterTest(() => fake.close());
    const run = start({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl });
    await until(() => run.stderr().includes('Discord bot ready'), () => run.stderr());
    const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ name: 'question', type: 3, value: QUESTION }] });
    const callback = await sent.waitForCallback();
    expect((callback.body as { type: number }).type).toBe(5);
    const edit = await sent.waitForEditOriginal(20_000);
    const body = edit.body as { embeds: { description: string; fields?: { value: string }[] }[]; allowed_mentions: unknown };
    expect(body.embeds[0].description).toContain('Qatar');
    expect(JSON.stringify(body.embeds[0])).toContain('Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look · 10 Apr 2025 · ¶ 4');
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(fake.requestsMatching('PUT', /commands/)).toHaveLength(0);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
