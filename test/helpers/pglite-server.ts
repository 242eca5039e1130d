import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * A real PostgreSQL (PGlite: Postgres compiled to WASM, with the pgvector extension) in this
 * process, served on a TCP port so the code under test reaches it through `pg` over the wire
 * protocol, exactly as it would a server. It is ONE backend session: every connection shares
 * it, so LISTEN/NOTIFY between connections and advisory-lock contention cannot be shown on it
 * (those tests need a real server).
 */
export interface PgliteServer {
  url: string;
  stop(): Promise<void>;
}

export async function startPglite(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 64 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
