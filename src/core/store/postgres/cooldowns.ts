/**
 * Store-wide cooldowns in PostgreSQL (`kb_cooldowns`), shared by every bot process: a take is one
 * statement, so of two processes racing for one member exactly one is accepted.
 */
import type pg from 'pg';
import type { CooldownStore, CooldownTake } from '../port.js';

export interface PgCooldownsOptions {
  /** How often (by the callers' clock) a take also deletes ended windows, in the background. Default 60 s. */
  sweepEveryMs?: number;
  log?: (line: string) => void;
}

/**
 * Accepts when no window runs (no row, or an ended one: a new window starts), else counts a
 * refusal. Always writes a row, so RETURNING always answers: refusals 0 = accepted, 1 = the
 * first refusal (notify), 2 = any later one. The row lock ON CONFLICT takes makes concurrent
 * takes of one key queue, each seeing the one before it.
 */
const TAKE = `
  INSERT INTO kb_cooldowns AS c (key, until, refusals) VALUES ($1, $2::bigint + $3::bigint, 0)
  ON CONFLICT (key) DO UPDATE SET
    until = CASE WHEN c.until <= $2 THEN excluded.until ELSE c.until END,
    refusals = CASE WHEN c.until <= $2 THEN 0 ELSE least(c.refusals + 1, 2) END
  RETURNING until, refusals`;

export class PgCooldowns implements CooldownStore {
  private lastSweep = -Infinity;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgCooldownsOptions = {},
  ) {}

  async take(key: string, windowMs: number, now = Date.now()): Promise<CooldownTake> {
    const { rows } = await this.pool.query(TAKE, [key, now, Math.max(0, Math.round(windowMs))]);
    this.maybeSweep(now);
    const refusals = Number(rows[0].refusals);
    if (refusals === 0) return { ok: true };
    return { ok: false, retryAfterMs: Number(rows[0].until) - now, notify: refusals === 1 };
  }

  async release(key: string): Promise<void> {
    await this.pool.query('DELETE FROM kb_cooldowns WHERE key = $1', [key]);
  }

  async sweep(now = Date.now()): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM kb_cooldowns WHERE until <= $1', [now]);
    return rowCount ?? 0;
  }

  /** Resolves once a background sweep in flight is done (before the pool closes). */
  settled(): Promise<unknown> {
    return this.sweeping;
  }

  // Off the hot path: the member's answer does not wait for housekeeping.
  private maybeSweep(now: number): void {
    // abs: a clock set back (or a test's clock) does not stop the sweeping.
    if (Math.abs(now - this.lastSweep) < (this.opts.sweepEveryMs ?? 60_000)) return;
    this.lastSweep = now;
    this.sweeping = this.sweep(now).catch((error: Error) => this.opts.log?.(`could not sweep ended cooldowns: ${error.message}`));
  }
}
