import type Database from 'better-sqlite3';

/**
 * Which servers the bot is in, and since when it is not: the clock behind `KB_RETENTION_DAYS`.
 * One row per server that ever had data, in the operator's catalog (table `servers`).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS servers (
  server_id TEXT PRIMARY KEY,
  joined_at TEXT NOT NULL,
  left_at TEXT
);
`;

export interface ServerRow {
  serverId: string;
  joinedAt: string;
  /** When the bot was removed from the server; null while it is in it. */
  leftAt: string | null;
}

export class ServerDirectory {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** The bot is in this server (again): its data is kept. */
  joined(serverId: string, at = new Date()): void {
    this.db
      .prepare(
        `INSERT INTO servers (server_id, joined_at, left_at) VALUES (?, ?, NULL)
         ON CONFLICT(server_id) DO UPDATE SET left_at = NULL`,
      )
      .run(serverId, at.toISOString());
  }

  /** The bot was removed from this server: the retention clock starts (unless it already runs). */
  left(serverId: string, at = new Date()): void {
    this.db
      .prepare(
        `INSERT INTO servers (server_id, joined_at, left_at) VALUES (?, ?, ?)
         ON CONFLICT(server_id) DO UPDATE SET left_at = COALESCE(left_at, excluded.left_at)`,
      )
      .run(serverId, at.toISOString(), at.toISOString());
  }

  get(serverId: string): ServerRow | undefined {
    const row = this.db.prepare('SELECT server_id, joined_at, left_at FROM servers WHERE server_id = ?').get(serverId) as
      | { server_id: string; joined_at: string; left_at: string | null }
      | undefined;
    return row ? { serverId: row.server_id, joinedAt: row.joined_at, leftAt: row.left_at } : undefined;
  }

  list(): ServerRow[] {
    return (this.db.prepare('SELECT server_id, joined_at, left_at FROM servers ORDER BY server_id').all() as { server_id: string; joined_at: string; left_at: string | null }[]).map(
      (r) => ({ serverId: r.server_id, joinedAt: r.joined_at, leftAt: r.left_at }),
    );
  }

  /** Servers the bot left before `before`. */
  leftBefore(before: Date): ServerRow[] {
    return this.list().filter((r) => r.leftAt !== null && r.leftAt < before.toISOString());
  }

  forget(serverId: string): void {
    this.db.prepare('DELETE FROM servers WHERE server_id = ?').run(serverId);
  }
}
