/**
 * The operator's scripts for one server's data, run as real processes the way `npm run` would:
 * `kb:export -- --guild ID`, `feedback:export -- --guild ID` (and `--all`) and `kb:purge -- --guild ID`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { ServerRegistry } from '../src/core/servers/registry.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const A = '111111111111111111';
const B = '222222222222222222';
const MOD = { id: 'mod', name: 'mod', via: 'test' };

let dir: string;
let dataDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'servers-scripts-'));
  dataDir = join(dir, 'data');
  const embedder = new HashEmbedder();
  const base = await KnowledgeBase.open({ dataDir, embedder });
  await base.ingest((await loadDirectory('knowledge')).articles);
  const registry = new ServerRegistry({
    policy: { scope: 'server', baseLayer: true, adminServerIds: [] },
    base,
    baseAdmin: new KnowledgeAdmin({ kb: base }),
    embedder,
    dataDir,
  });
  for (const [server, title] of [
    [A, 'Village bakery wins national award'],
    [B, 'Harbour reopens after the storm'],
  ] as const) {
    await registry.use(server, async (scope) => {
      await scope.admin!.add({ title, body: `${title}: the whole village came out to see it happen on a bright Saturday morning.`, origin: 'discord:x' }, MOD);
      const id = await scope.store.recordQuestion({ via: 'slash', userId: 'u', guildId: server, question: `about ${title}?`, outcome: 'answered', answer: 'yes [1]', sources: [] });
      await scope.store.recordFeedback({ questionId: id, userId: 'u', guildId: server, vote: 'up' });
    });
  }
  await registry.close();
  await base.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = () => ({ ...process.env, DATA_DIR: dataDir, KNOWLEDGE_DIR: join(dir, 'knowledge'), KB_SCOPE: 'server', LOG_FORMAT: 'json' as const });

describe('one server’s data from the command line', () => {
  it("kb:export --guild writes that server's articles only", async () => {
    const out = join(dir, 'export-a');
    const { stdout } = await run(tsx, ['scripts/kb-export.ts', '--guild', A, '--dir', out], { env: env() });
    expect(stdout).toMatch(/written: 1/);
    const files = readdirSync(out);
    expect(files).toEqual(['village-bakery-wins-national-award.md']);
    expect(readFileSync(join(out, files[0]), 'utf8')).toMatch(/Village bakery/);
    await expect(run(tsx, ['scripts/kb-export.ts', '--guild', A], { env: env() })).rejects.toMatchObject({ stderr: expect.stringMatching(/needs --dir/) });
  });

  it("feedback:export --guild shows that server's votes only", async () => {
    const { stdout } = await run(tsx, ['scripts/feedback-export.ts', '--guild', A, '--format', 'json'], { env: env() });
    const rows = JSON.parse(stdout) as { guild_id: string; question: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ guild_id: A, question: 'about Village bakery wins national award?' });
  });

  it("feedback:export --all adds every server's own votes to the shared knowledge base's; with --guild it is refused", async () => {
    const { stdout } = await run(tsx, ['scripts/feedback-export.ts', '--all', '--format', 'json'], { env: env() });
    const rows = JSON.parse(stdout) as { guild_id: string; question: string }[];
    expect(rows.map((r) => [r.guild_id, r.question]).sort()).toEqual([
      [A, 'about Village bakery wins national award?'],
      [B, 'about Harbour reopens after the storm?'],
    ]);
    await expect(run(tsx, ['scripts/feedback-export.ts', '--all', '--guild', A], { env: env() })).rejects.toMatchObject({ stderr: expect.stringMatching(/exclude each other/) });
  });

  it('kb:purge --guild deletes one server’s data at once and leaves an audit line; the other server is untouched', async () => {
    const { stdout } = await run(tsx, ['scripts/kb-purge.ts', '--guild', A], { env: env() });
    expect(stdout).toMatch(/Purged server 111111111111111111: 1 articles, 1 questions/);
    expect(existsSync(join(dataDir, 'servers', A))).toBe(false);
    expect(existsSync(join(dataDir, 'servers', B, 'catalog.sqlite'))).toBe(true);
    const base = await KnowledgeBase.open({ dataDir, embedder: new HashEmbedder() });
    try {
      expect((await base.auditTrail({ limit: 1 }))[0]).toMatchObject({ action: 'purge', actor: { id: 'cli' }, details: { server: A, articles: 1 } });
      expect(await base.listArticles()).toHaveLength(1);
    } finally {
      await base.close();
    }
    const again = await run(tsx, ['scripts/kb-purge.ts', '--guild', A], { env: env() });
    expect(again.stdout).toMatch(/Nothing was kept for server 111111111111111111/);
    await expect(run(tsx, ['scripts/kb-purge.ts', '--guild', 'nope'], { env: env() })).rejects.toMatchObject({ stderr: expect.stringMatching(/server id/) });
  });
});
