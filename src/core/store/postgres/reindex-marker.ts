/**
 * A tenant's reindex marker in PostgreSQL (`kb_reindex_markers`): one row per tenant, claimed by one
 * conditional upsert, so of two processes starting a reindex at once exactly one holds it.
 */
import type pg from 'pg';
import type { Actor } from '../audit.js';
import type { ReindexMarker, ReindexMarkerStore } from '../port.js';

const COLUMNS = 'holder, actor, since, expires_at';

function toMarker(r: Record<string, unknown>): ReindexMarker {
  return { holder: r.holder as string, actor: r.actor as Actor, since: Number(r.since), expiresAt: Number(r.expires_at) };
}

export class PgReindexMarker implements ReindexMarkerStore {
  constructor(
    private readonly pool: () => pg.Pool,
    private readonly tenant: string,
  ) {}

  async claim(input: { holder: string; actor: Actor; ttlMs: number; now?: number }): Promise<{ ok: true; marker: ReindexMarker } | { ok: false; running: ReindexMarker }> {
    const now = input.now ?? Date.now();
    // A refused claim reads the marker in a second statement; if it was released in between, claim again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.pool().query(
        `INSERT INTO kb_reindex_markers AS m (tenant, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO UPDATE SET holder = excluded.holder, actor = excluded.actor, since = excluded.since, expires_at = excluded.expires_at
         WHERE m.expires_at <= $4 OR m.holder = excluded.holder
         RETURNING ${COLUMNS}`,
        [this.tenant, input.holder, JSON.stringify(input.actor), now, now + input.ttlMs],
      );
      if (rows[0]) return { ok: true, marker: toMarker(rows[0]) };
      const running = await this.current(now);
      if (running) return { ok: false, running };
    }
    throw new Error(`could not claim the reindex marker of tenant ${this.tenant}: it kept changing hands; try again`);
  }

  async renew(holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const { rowCount } = await this.pool().query('UPDATE kb_reindex_markers SET expires_at = $3 WHERE tenant = $1 AND holder = $2', [this.tenant, holder, now + ttlMs]);
    return (rowCount ?? 0) > 0;
  }

  async release(holder: string): Promise<void> {
    await this.pool().query('DELETE FROM kb_reindex_markers WHERE tenant = $1 AND holder = $2', [this.tenant, holder]);
  }

  async current(now = Date.now()): Promise<ReindexMarker | undefined> {
    const { rows } = await this.pool().query(`SELECT ${COLUMNS} FROM kb_reindex_markers WHERE tenant = $1 AND expires_at > $2`, [this.tenant, now]);
    return rows[0] && toMarker(rows[0]);
  }
}
