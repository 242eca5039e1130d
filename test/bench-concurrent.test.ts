/**
 * `npm run bench -- --concurrent` on a tiny knowledge base: the script runs, stops by itself and
 * prints sane figures. Not a timing test: the figures only have to be consistent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isLoopbackUrl } from '../scripts/bench/concurrent.js';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const url = process.env.TEST_DATABASE_URL;

describe('bench --concurrent', () => {
  it('runs only against a server on this machine', () => {
    expect(isLoopbackUrl('postgres://u@127.0.0.1:5432/db')).toBe(true);
    expect(isLoopbackUrl('postgres://u@localhost/db')).toBe(true);
    expect(isLoopbackUrl('postgres://u@[::1]:5432/db')).toBe(true);
    expect(isLoopbackUrl('postgres://u@db.example.com/db')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });

  it.skipIf(!url)('asks one PostgreSQL knowledge base from 2 processes × 3 askers for 2 s and prints throughput and percentiles (needs TEST_DATABASE_URL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-concurrent-test-'));
    try {
      const out = join(dir, 'concurrent.json');
      const { stdout, stderr } = await run(
        tsx,
        ['scripts/bench.ts', '--concurrent', '--database-url', url!, '--corpus', 'knowledge', '--hash-embedder', '--processes', '2', '--askers', '3', '--seconds', '2', '--questions', '12', '--out', out],
        { timeout: 120_000 },
      );
      expect(stdout).toMatch(/questions\/s/);
      const figures = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ processes: 2, askersPerProcess: 3 });
      expect(figures).toMatchObject({ processes: 2, askersPerProcess: 3, failed: 0 });
      expect(figures.seconds).toBeGreaterThanOrEqual(2);
      expect(figures.seconds).toBeLessThan(30);
      expect(figures.asked).toBeGreaterThan(0);
      expect(figures.ask.n).toBe(figures.asked);
      // seconds is printed to 0.1 s, so the quotient only agrees to a few per cent.
      expect(Math.abs(figures.questionsPerSecond / (figures.asked / figures.seconds) - 1)).toBeLessThan(0.05);
      expect(figures.ask.p50).toBeGreaterThan(0);
      expect(figures.ask.p50).toBeLessThanOrEqual(figures.ask.p95);
      expect(figures.ask.p95).toBeLessThanOrEqual(figures.ask.p99);
      expect(figures.ask.p99).toBeLessThanOrEqual(figures.ask.max);
      // The run's own database is gone.
      const name = /created database (\w+)/.exec(stderr)?.[1];
      expect(name).toBeDefined();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        expect((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount).toBe(0);
      } finally {
        await client.end();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
