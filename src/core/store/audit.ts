import type Database from 'better-sqlite3';

/**
 * The audit trail of the knowledge base: who changed what, when, with the article id and the
 * content hash. Rows live in the catalog's SQLite file (table `kb_audit`) and are written INSIDE
 * the transaction of the change they describe, so there is never a change without its row or a
 * row without its change.
 */

/** Who made a change. `id` is stable (a Discord user id, "cli"); `name` is for people. */
export interface Actor {
  id: string;
  name?: string;
  /** Where the change came from: "discord", "cli", "script", ... */
  via?: string;
}

/** `purge`: a server's data deleted after the bot left it (or by `npm run kb:purge`). */
export type AuditAction = 'add' | 'replace' | 'remove' | 'reindex' | 'purge';

export interface AuditEntryInput {
  action: AuditAction;
  articleId?: string;
  title?: string;
  /** Content hash of the article as written (for removals: of the version removed). */
  contentHash?: string;
  /** Small JSON-able extras (passages, model, ...). */
  details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  id: number;
  /** ISO timestamp. */
  at: string;
  actor: Actor;
  /** Catalog version the change produced. */
  version: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kb_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT,
  via TEXT,
  action TEXT NOT NULL,
  article_id TEXT,
  title TEXT,
  content_hash TEXT,
  catalog_version INTEGER NOT NULL,
  details TEXT
);
CREATE INDEX IF NOT EXISTS kb_audit_article ON kb_audit(article_id, id);
`;

interface Row {
  id: number;
  at: string;
  actor_id: string;
  actor_name: string | null;
  via: string | null;
  action: AuditAction;
  article_id: string | null;
  title: string | null;
  content_hash: string | null;
  catalog_version: number;
  details: string | null;
}

function toEntry(r: Row): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: { id: r.actor_id, ...(r.actor_name ? { name: r.actor_name } : {}), ...(r.via ? { via: r.via } : {}) },
    action: r.action,
    ...(r.article_id ? { articleId: r.article_id } : {}),
    ...(r.title ? { title: r.title } : {}),
    ...(r.content_hash ? { contentHash: r.content_hash } : {}),
    ...(r.details ? { details: JSON.parse(r.details) as Record<string, unknown> } : {}),
    version: r.catalog_version,
  };
}

/** Reads and writes `kb_audit` through the catalog's connection (so writes join its transactions). */
export class AuditLog {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Appends rows; call inside the change's transaction. Returns them with their ids. */
  record(actor: Actor, version: number, at: string, entries: AuditEntryInput[]): AuditEntry[] {
    const insert = this.db.prepare(
      `INSERT INTO kb_audit (at, actor_id, actor_name, via, action, article_id, title, content_hash, catalog_version, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return entries.map((e) => {
      const info = insert.run(
        at,
        actor.id,
        actor.name ?? null,
        actor.via ?? null,
        e.action,
        e.articleId ?? null,
        e.title ?? null,
        e.contentHash ?? null,
        version,
        e.details ? JSON.stringify(e.details) : null,
      );
      return { ...e, id: Number(info.lastInsertRowid), at, actor, version };
    });
  }

  /** Copies rows verbatim, ids and versions included (copying a knowledge base to another store). */
  importRows(entries: AuditEntry[]): void {
    const insert = this.db.prepare(
      `INSERT INTO kb_audit (id, at, actor_id, actor_name, via, action, article_id, title, content_hash, catalog_version, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const e of entries) {
        insert.run(e.id, e.at, e.actor.id, e.actor.name ?? null, e.actor.via ?? null, e.action, e.articleId ?? null, e.title ?? null,
          e.contentHash ?? null, e.version, e.details ? JSON.stringify(e.details) : null);
      }
    })();
  }

  /** Newest first; `beforeId` pages back through a long trail. */
  list(options: { limit?: number; articleId?: string; beforeId?: number } = {}): AuditEntry[] {
    const limit = Math.max(1, Math.min(options.limit ?? 50, 10_000));
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (options.articleId) {
      where.push('article_id = ?');
      args.push(options.articleId);
    }
    if (options.beforeId !== undefined) {
      where.push('id < ?');
      args.push(options.beforeId);
    }
    const sql = `SELECT * FROM kb_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as Row[]).map(toEntry);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM kb_audit').get() as { n: number }).n;
  }
}
