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

/**
 * Blanks the text of questions asked (and of votes cast) before `cutoff`, in one tenant or in all;
 * the rows and their counts stay. Returns how many questions were blanked.
 */
export async function forgetQuestionText(client: pg.PoolClient, cutoff: string, tenant?: string): Promise<number> {
  const params = tenant === undefined ? [cutoff] : [cutoff, tenant];
  const inTenant = (alias: string) => (tenant === undefined ? '' : ` AND ${alias}tenant = $2`);
  await client.query(
    `UPDATE kb_feedback f SET question = '', answer = ''
     WHERE (f.question != '' OR f.answer != '')${inTenant('f.')}
       AND (f.created_at < $1 OR EXISTS (SELECT 1 FROM kb_questions q WHERE q.tenant = f.tenant AND q.id = f.question_id AND q.asked_at < $1))`,
    params,
  );
  const { rowCount } = await client.query(`UPDATE kb_questions SET question = NULL, answer = NULL, sources = NULL WHERE asked_at < $1 AND question IS NOT NULL${inTenant('')}`, params);
  return rowCount ?? 0;
}
