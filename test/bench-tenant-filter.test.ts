/**
 * `npm run bench -- --tenant-filter` on tiny sizes: the script runs, drops its database and prints
 * sane figures. Not a timing test: only the shape and the invariants of the figures are checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tenantSizes } from '../scripts/bench/tenant-filter.js';
import { rng } from '../scripts/bench/stats.js';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const url = process.env.TEST_DATABASE_URL;

describe('bench --tenant-filter', () => {
  it('spreads the rows with the skew it claims: 40 % on one tenant, 30 % on four, the rest small', () => {
    const sizes = tenantSizes(100_000, 105, rng(1));
    expect(sizes).toHaveLength(105);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(sizes[0]).toBe(40_000);
    expect(sizes.slice(1, 5).reduce((a, b) => a + b, 0)).toBe(30_000);
    for (const small of sizes.slice(5)) expect(small).toBeGreaterThanOrEqual(6);
    expect(Math.max(...sizes.slice(5))).toBeLessThan(1_000);
  });

  it.skipIf(!url)('measures both layouts on 2,000 vectors over 8 tenants (needs TEST_DATABASE_URL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-tenant-filter-test-'));
    try {
      const out = join(dir, 'tenant-filter.json');
      const { stdout, stderr } = await run(
        tsx,
        ['scripts/bench.ts', '--tenant-filter', '--database-url', url!, '--vectors', '2000', '--tenants', '8', '--queries', '10', '--scale-ef', '40', '--out', out],
        { timeout: 120_000 },
      );
      expect(stdout).toMatch(/\| partitioned, planner \| 40 \| small/);
      expect(stdout).toMatch(/\| one table, relaxed_order, HNSW forced \| 40 \| large/);
      const figures = JSON.parse(readFileSync(out, 'utf8'));
      expect(figures).toMatchObject({ vectors: 2000, tenants: 8, queriesPerTenant: 10 });
      // 2 partitioned + 3 one-table iterative settings forced to HNSW + 2 with its limits raised + 1 left to the planner, × 3 tenants.
      expect(figures.rows).toHaveLength(24);
      for (const r of figures.rows) {
        expect(r.recallAt10).toBeGreaterThanOrEqual(0);
        expect(r.recallAt10).toBeLessThanOrEqual(1);
        expect(r.recallAt50).toBeLessThanOrEqual(1);
        expect(r.rowsMin).toBeLessThanOrEqual(r.rowsMean);
        expect(r.rowsMean).toBeLessThanOrEqual(50);
        expect(r.latency.n).toBe(10);
        expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p95);
      }
      // A sorted scan is exact search: it must agree with the in-process truth (but for a near tie at the 50th row).
      for (const r of figures.rows.filter((x: any) => x.plan === 'exact')) expect(r.recallAt50).toBeGreaterThanOrEqual(0.99);
      // With iterative scan the one table fills the top 50 of every tenant that has 50 rows.
      for (const r of figures.rows.filter((x: any) => x.layout === 'one table' && x.iterativeScan !== 'off')) expect(r.rowsMin).toBe(Math.min(50, r.tenantRows));
      for (const layout of ['partitioned', 'oneTable']) {
        expect(figures.layouts[layout].buildSeconds).toBeGreaterThan(0);
        expect(figures.layouts[layout].indexMb).toBeGreaterThan(0);
      }
      // The run's own database is gone.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const name = /created database (\S+)/.exec(stderr)?.[1];
        expect(name).toBeTruthy();
        const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name]);
        expect(rows[0].n).toBe(0);
      } finally {
        await admin.end();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
