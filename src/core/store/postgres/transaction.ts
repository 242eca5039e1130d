import type pg from 'pg';

/** Options of {@link inTransaction}. */
export interface TransactionOptions {
  /** `statement_timeout` for this transaction only, in ms (0: none, for schema changes and purges). Default: the session's. */
  statementTimeoutMs?: number;
}

/**
 * Runs `work` in one transaction on a client of `pool`: COMMIT when it resolves, ROLLBACK (and the
 * error rethrown) when it throws. A client whose ROLLBACK failed is destroyed instead of going back
 * to the pool, so a broken connection never serves another query.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    if (options.statementTimeoutMs !== undefined) await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.floor(options.statementTimeoutMs))}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
