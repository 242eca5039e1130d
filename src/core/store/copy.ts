/**
 * Copies every knowledge base of one store into another (local files ⇄ PostgreSQL) without
 * re-embedding: articles with their bodies, timestamps and stored vectors, the audit trail,
 * questions and votes, followed feeds (with what the poller knows of them), the sentence cache
 * (sentence vectors by model and key, sentence entities: a copy answers without embedding its
 * sentences again) and the server directory. Summaries (a cache that fills again as they are
 * asked for) and pending confirmations (minutes long) are not copied. The destination must hold nothing yet for the tenants copied.
 */
import type { ArticleDump, ArticleWrite, AuditEntry, KnowledgeStore, TenantKey, TenantStore } from './port.js';

export interface CopiedTenant {
  tenant: string;
  articles: number;
  passages: number;
  audit: number;
  questions: number;
  feedback: number;
  feeds: number;
  sentenceVectors: number;
  sentenceEntities: number;
}

export interface CopyReport {
  tenants: CopiedTenant[];
  servers: number;
}

/** Passages per commit while copying: small transactions, so a failure loses little and locks briefly. */
const BATCH_PASSAGES = 1000;

export async function copyKnowledge(from: KnowledgeStore, to: KnowledgeStore, options: { log?: (line: string) => void } = {}): Promise<CopyReport> {
  const tenants: TenantKey[] = [null, ...(await from.tenants())];
  const report: CopyReport = { tenants: [], servers: 0 };
  for (const tenant of tenants) {
    const source = await from.open(tenant);
    const target = await to.open(tenant);
    try {
      report.tenants.push(await copyTenant(source, target));
      const last = report.tenants[report.tenants.length - 1];
      options.log?.(`${last.tenant}: ${last.articles} articles, ${last.passages} passages, ${last.audit} audit rows, ${last.questions} questions, ${last.feedback} votes, ${last.feeds} feeds, ${last.sentenceVectors} sentence vectors, ${last.sentenceEntities} sentence entities`);
    } finally {
      await source.close();
      await target.close();
    }
  }
  for (const row of await from.servers.list()) {
    await to.servers.joined(row.serverId, new Date(row.joinedAt));
    if (row.leftAt) await to.servers.left(row.serverId, new Date(row.leftAt));
    report.servers++;
  }
  return report;
}

async function copyTenant(source: TenantStore, target: TenantStore): Promise<CopiedTenant> {
  const name = source.tenant ?? 'base';
  const [have, audited, asked, followed] = [await target.state(), await target.auditTrail({ limit: 1 }), await target.questions.listQuestions(), await target.feeds.list()];
  if (have.articles > 0 || audited.length > 0 || asked.length > 0 || followed.length > 0) {
    throw new Error(`the destination already holds data for ${name === 'base' ? "the operator's knowledge base" : `server ${name}`}; copy into an empty database or data folder`);
  }
  const state = await source.state();
  if (state.model) await target.setModel(state.model);
  const out: CopiedTenant = { tenant: name, articles: 0, passages: 0, audit: 0, questions: 0, feedback: 0, feeds: 0, sentenceVectors: 0, sentenceEntities: 0 };

  let batch: ArticleWrite[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await target.commit({ write: batch });
    batch = [];
    size = 0;
  };
  for await (const dump of source.dumpArticles()) {
    batch.push(toWrite(dump));
    size += dump.passages.length;
    out.articles++;
    out.passages += dump.passages.length;
    if (size >= BATCH_PASSAGES) await flush();
  }
  await flush();

  // Oldest first, ids and versions as they were.
  const audit: AuditEntry[] = [];
  for (let page = await source.auditTrail({ limit: 10_000 }); page.length > 0; page = await source.auditTrail({ limit: 10_000, beforeId: page[page.length - 1].id })) {
    audit.push(...page);
  }
  audit.reverse();
  await target.importAudit(audit);
  out.audit = audit.length;

  const questions = await source.questions.listQuestions();
  const feedback = await source.questions.listFeedback();
  await target.questions.importRows(questions, feedback);
  out.questions = questions.length;
  out.feedback = feedback.length;

  for (const feed of await source.feeds.list()) {
    await target.feeds.importFeed(feed, await source.feeds.entries(feed.id));
    out.feeds++;
  }

  // Copied as stored, whatever the keys are made of: the cache's key scheme stays sentence-vectors.ts's alone.
  for await (const page of source.sentences.dumpVectors()) {
    const byModel = new Map<string, { key: string; vector: Float32Array }[]>();
    for (const { model, key, vector } of page) {
      let entries = byModel.get(model);
      if (!entries) byModel.set(model, (entries = []));
      entries.push({ key, vector });
    }
    for (const [model, entries] of byModel) await target.sentences.putVectors(model, entries);
    out.sentenceVectors += page.length;
  }
  for await (const page of source.sentences.dumpEntities()) {
    await target.sentences.putEntities(page);
    out.sentenceEntities += page.length;
  }

  const copied = await target.state();
  if (copied.articles !== out.articles || copied.passages !== out.passages) {
    throw new Error(`copying ${name} ended with ${copied.articles} articles and ${copied.passages} passages instead of ${out.articles} and ${out.passages}`);
  }
  return out;
}

function toWrite(dump: ArticleDump): ArticleWrite {
  const { record, passages } = dump;
  return {
    article: {
      id: record.id,
      title: record.title,
      ...(record.url ? { url: record.url } : {}),
      ...(record.date ? { date: record.date } : {}),
      ...(record.author ? { author: record.author } : {}),
      origin: record.origin,
      hash: record.hash,
      duplicatesDropped: record.duplicatesDropped,
      passages: passages.map(({ id, articleId, paragraph, text, hash }) => ({ id, articleId, paragraph, text, hash })),
    },
    passages: passages.map(({ id, articleId, paragraph, text, hash, vector }) => ({ passage: { id, articleId, paragraph, text, hash }, vector })),
    ...(dump.body !== null ? { body: dump.body } : {}),
    ...(record.addedBy ? { addedBy: record.addedBy } : {}),
    addedAt: record.addedAt,
    updatedAt: record.updatedAt,
  };
}
