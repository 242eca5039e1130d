/**
 * A process that commits one large article to a PostgreSQL store and is meant to be killed in
 * the middle of it (test/store-contract.test.ts). Prints "committing" just before the commit.
 * argv: DATABASE_URL TENANT PASSAGES
 */
import { PostgresStore } from '../../src/core/store/postgres/index.js';
import { HashEmbedder } from './hash-embedder.js';

const [url, tenant, count] = process.argv.slice(2);
const embedder = new HashEmbedder(64);
const store = await PostgresStore.connect({ url, listen: false });
const t = await store.open(tenant);
await t.setModel({ model: embedder.info.model, dimension: 64, normalized: true });
const passages = Array.from({ length: Number(count) }, (_, i) => {
  const text = `Paragraph ${i} of the long report: sediment core ${i * 7} from borehole ${i % 97} shows layer ${i % 13} of volcanic ash.`;
  return { passage: { id: `long-report#${i + 1}`, articleId: 'long-report', paragraph: i + 1, text, hash: `h${i}` }, vector: embedder.vector(text) };
});
const article = { id: 'long-report', title: 'Long report', origin: 'test', hash: 'long', duplicatesDropped: 0, passages: passages.map((p) => p.passage) };
process.stdout.write('committing\n');
await t.commit({ write: [{ article, passages }], audit: { actor: { id: 'child' } } });
process.stdout.write('committed\n');
await t.close();
await store.close();
