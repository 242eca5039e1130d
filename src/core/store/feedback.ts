import Database from 'better-sqlite3';
import type { Source } from '../types.js';

/**
 * What the Discord bot remembers about the questions it answered, and the 👍 / 👎 votes on them.
 * Lives in the catalog's SQLite file (`<DATA_DIR>/catalog.sqlite`) in its own tables, through its
 * own connection (WAL mode, so it never blocks the catalog's readers).
 *
 * - `questions`: one row per question the bot handled (answered or not). The text is kept so the
 *   buttons under an answer ("Show passages", 👍 / 👎) and thread follow-ups (earlier questions
 *   as context) keep working after a restart; {@link FeedbackStore.forgetOlderThan} blanks the
 *   text of old rows and keeps the counts.
 * - `feedback`: one vote per user per answer (voting again replaces the vote), with a copy of the
 *   question, the answer and the cited passage ids, so exports stay meaningful after an article
 *   changes.
 */

export type QuestionOutcome = 'answered' | 'no-answer' | 'timeout' | 'error' | 'rejected';
export type Vote = 'up' | 'down';

/** A source as stored with an answer (what "Show passages" needs), without ranking scores. */
export type StoredSource = Pick<Source, 'n' | 'passageId' | 'articleId' | 'title' | 'paragraph' | 'url' | 'text' | 'layer'>;

export interface QuestionRecordInput {
  /** Where it was asked: 'slash', 'mention', 'thread', 'context-menu', ... */
  via: string;
  userId: string;
  guildId?: string | null;
  channelId?: string | null;
  /** Thread (conversation) whose later questions see this one as history. Null for private or channel-level questions. */
  conversationId?: string | null;
  question: string;
  outcome: QuestionOutcome;
  answer?: string;
  sources?: StoredSource[];
  /** Time spent answering, in ms. */
  ms?: number;
  /** ISO timestamp; default now. */
  at?: string;
}

export interface QuestionRecord {
  id: number;
  askedAt: string;
  via: string;
  userId: string;
  guildId: string | null;
  channelId: string | null;
  conversationId: string | null;
  questionChars: number;
  outcome: QuestionOutcome;
  /** Null once forgotten. */
  question: string | null;
  answer: string | null;
  sources: StoredSource[];
  ms: number | null;
}

export interface FeedbackRow {
  id: number;
  /** ISO timestamp of the (latest) vote. */
  createdAt: string;
  vote: Vote;
  userId: string;
  guildId: string | null;
  questionId: number;
  question: string;
  answer: string;
  /** Ids of the passages cited by the answer, in citation order. */
  passageIds: string[];
}

export interface UsageStats {
  /** Questions handled, any outcome. */
  questions: number;
  /** Questions answered from the knowledge base. */
  answered: number;
  /** Questions the knowledge base had no answer for. */
  unanswered: number;
  /** Questions that failed or timed out. */
  failed: number;
  feedbackUp: number;
  feedbackDown: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS questions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  asked_at TEXT NOT NULL,
  via TEXT NOT NULL,
  user_id TEXT NOT NULL,
  guild_id TEXT,
  channel_id TEXT,
  conversation_id TEXT,
  question_chars INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  question TEXT,
  answer TEXT,
  sources_json TEXT,
  ms INTEGER
);
CREATE INDEX IF NOT EXISTS questions_conversation ON questions(conversation_id, id);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  question_id INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  guild_id TEXT,
  vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  passage_ids TEXT NOT NULL,
  UNIQUE (question_id, user_id)
);
CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback(created_at);
`;

interface QuestionRowDb {
  id: number;
  asked_at: string;
  via: string;
  user_id: string;
  guild_id: string | null;
  channel_id: string | null;
  conversation_id: string | null;
  question_chars: number;
  outcome: QuestionOutcome;
  question: string | null;
  answer: string | null;
  sources_json: string | null;
  ms: number | null;
}

interface FeedbackRowDb {
  id: number;
  created_at: string;
  question_id: number;
  user_id: string;
  guild_id: string | null;
  vote: Vote;
  question: string;
  answer: string;
  passage_ids: string;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export class FeedbackStore {
  private readonly ownsDb: boolean;

  /** Uses an open connection (the caller closes it) — e.g. `kb.catalog.db`. */
  constructor(
    readonly db: Database.Database,
    options: { ownsDb?: boolean } = {},
  ) {
    this.ownsDb = options.ownsDb ?? false;
    this.db.exec(SCHEMA);
  }

  /** Opens (creating when missing) the SQLite file, normally `join(config.dataDir, 'catalog.sqlite')`. */
  static open(file: string): FeedbackStore {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      return new FeedbackStore(db, { ownsDb: true });
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.ownsDb && this.db.open) this.db.close();
  }

  /** Records a handled question; returns its id (used in button custom ids). */
  recordQuestion(input: QuestionRecordInput): number {
    const result = this.db
      .prepare(
        `INSERT INTO questions (asked_at, via, user_id, guild_id, channel_id, conversation_id, question_chars, outcome, question, answer, sources_json, ms)
         VALUES (@at, @via, @userId, @guildId, @channelId, @conversationId, @chars, @outcome, @question, @answer, @sources, @ms)`,
      )
      .run({
        at: input.at ?? new Date().toISOString(),
        via: input.via,
        userId: input.userId,
        guildId: input.guildId ?? null,
        channelId: input.channelId ?? null,
        conversationId: input.conversationId ?? null,
        chars: input.question.length,
        outcome: input.outcome,
        question: input.question,
        answer: input.answer ?? null,
        sources: input.sources ? JSON.stringify(input.sources) : null,
        ms: input.ms === undefined ? null : Math.round(input.ms),
      });
    return Number(result.lastInsertRowid);
  }

  /**
   * A stored question. With `guildId` (null for a DM), only a question asked in that server: a
   * button's custom id is chosen by the client, so a click never reaches another server's rows.
   */
  getQuestion(id: number, guildId?: string | null): QuestionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM questions WHERE id = ?').get(id) as QuestionRowDb | undefined;
    if (!row) return undefined;
    if (guildId !== undefined && row.guild_id !== guildId) return undefined;
    return {
      id: row.id,
      askedAt: row.asked_at,
      via: row.via,
      userId: row.user_id,
      guildId: row.guild_id,
      channelId: row.channel_id,
      conversationId: row.conversation_id,
      questionChars: row.question_chars,
      outcome: row.outcome,
      question: row.question,
      answer: row.answer,
      sources: parseJson<StoredSource[]>(row.sources_json, []),
      ms: row.ms,
    };
  }

  /** Every question, oldest first (copying a knowledge base to another store). */
  listQuestions(): QuestionRecord[] {
    const ids = this.db.prepare('SELECT id FROM questions ORDER BY id').pluck().all() as number[];
    return ids.map((id) => this.getQuestion(id)!);
  }

  /** Copies question and vote rows verbatim, ids included (into a store that has none of them). */
  importRows(questions: QuestionRecord[], feedback: FeedbackRow[]): void {
    const q = this.db.prepare(
      `INSERT INTO questions (id, asked_at, via, user_id, guild_id, channel_id, conversation_id, question_chars, outcome, question, answer, sources_json, ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const f = this.db.prepare(
      `INSERT INTO feedback (id, created_at, question_id, user_id, guild_id, vote, question, answer, passage_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const r of questions) {
        q.run(r.id, r.askedAt, r.via, r.userId, r.guildId, r.channelId, r.conversationId, r.questionChars, r.outcome, r.question, r.answer,
          r.question === null ? null : JSON.stringify(r.sources), r.ms);
      }
      for (const r of feedback) f.run(r.id, r.createdAt, r.questionId, r.userId, r.guildId, r.vote, r.question, r.answer, JSON.stringify(r.passageIds));
    })();
  }

  /** The last `limit` questions of a conversation (thread), oldest first: the history of a follow-up. */
  recentQuestions(conversationId: string, limit = 2): string[] {
    const rows = this.db
      .prepare(
        `SELECT question FROM questions
         WHERE conversation_id = ? AND question IS NOT NULL AND outcome IN ('answered', 'no-answer')
         ORDER BY id DESC LIMIT ?`,
      )
      .all(conversationId, limit) as { question: string }[];
    return rows.map((r) => r.question).reverse();
  }

  /**
   * Stores (or replaces) `userId`'s vote on an answer. Returns the stored row, or undefined when the
   * question is unknown or its text was already forgotten.
   */
  recordFeedback(input: { questionId: number; userId: string; guildId?: string | null; vote: Vote; at?: string }): FeedbackRow | undefined {
    const q = this.getQuestion(input.questionId, input.guildId ?? null);
    if (!q || q.question === null || q.answer === null) return undefined;
    const at = input.at ?? new Date().toISOString();
    const passageIds = JSON.stringify(q.sources.map((s) => s.passageId));
    this.db
      .prepare(
        `INSERT INTO feedback (created_at, question_id, user_id, guild_id, vote, question, answer, passage_ids)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (question_id, user_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at`,
      )
      .run(at, q.id, input.userId, input.guildId ?? null, input.vote, q.question, q.answer, passageIds);
    const row = this.db
      .prepare('SELECT * FROM feedback WHERE question_id = ? AND user_id = ?')
      .get(q.id, input.userId) as FeedbackRowDb;
    return toFeedbackRow(row);
  }

  /**
   * Every vote, oldest first (optionally only those at or after `since`, an ISO timestamp, and only
   * those of one server: `guildId`).
   */
  listFeedback(options: { since?: string; guildId?: string } = {}): FeedbackRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (options.since) {
      where.push('created_at >= ?');
      args.push(options.since);
    }
    if (options.guildId !== undefined) {
      where.push('guild_id = ?');
      args.push(options.guildId);
    }
    const sql = `SELECT * FROM feedback ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return (this.db.prepare(sql).all(...args) as FeedbackRowDb[]).map(toFeedbackRow);
  }

  /** Deletes every question and vote of a server (its data is purged). Returns the questions deleted. */
  forgetServer(guildId: string): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM feedback WHERE guild_id = ?').run(guildId);
      return this.db.prepare('DELETE FROM questions WHERE guild_id = ?').run(guildId).changes;
    })();
  }

  /** Counts for `/kb stats` (of one server's questions with `guildId`). */
  stats(guildId?: string): UsageStats {
    const only = guildId === undefined ? '' : 'AND guild_id = @guildId';
    const q = this.db
      .prepare(
        `SELECT COUNT(*) AS questions,
                COALESCE(SUM(outcome = 'answered'), 0) AS answered,
                COALESCE(SUM(outcome = 'no-answer'), 0) AS unanswered,
                COALESCE(SUM(outcome IN ('timeout', 'error')), 0) AS failed
         FROM questions WHERE outcome != 'rejected' ${only}`,
      )
      .get({ guildId }) as { questions: number; answered: number; unanswered: number; failed: number };
    const f = this.db
      .prepare(`SELECT COALESCE(SUM(vote = 'up'), 0) AS up, COALESCE(SUM(vote = 'down'), 0) AS down FROM feedback WHERE 1 ${only}`)
      .get({ guildId }) as { up: number; down: number };
    return { ...q, feedbackUp: f.up, feedbackDown: f.down };
  }

  /**
   * Blanks the question, answer and passages of questions older than `days`, and the copies of
   * that text kept with votes (the counts and votes stay; the buttons then say the answer is too
   * old). Returns the questions changed.
   */
  forgetOlderThan(days: number, now = new Date()): number {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    return this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE feedback SET question = '', answer = ''
           WHERE (question != '' OR answer != '')
             AND (created_at < @cutoff OR question_id IN (SELECT id FROM questions WHERE asked_at < @cutoff))`,
        )
        .run({ cutoff });
      return this.db
        .prepare('UPDATE questions SET question = NULL, answer = NULL, sources_json = NULL WHERE asked_at < ? AND question IS NOT NULL')
        .run(cutoff).changes;
    })();
  }
}

function toFeedbackRow(row: FeedbackRowDb): FeedbackRow {
  return {
    id: row.id,
    createdAt: row.created_at,
    vote: row.vote,
    userId: row.user_id,
    guildId: row.guild_id,
    questionId: row.question_id,
    question: row.question,
    answer: row.answer,
    passageIds: parseJson<string[]>(row.passage_ids, []),
  };
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

export const FEEDBACK_COLUMNS = ['id', 'created_at', 'vote', 'user_id', 'guild_id', 'question_id', 'question', 'answer', 'passage_ids'] as const;

/**
 * One CSV field (RFC 4180): quoted when it contains a comma, quote, CR or LF (or starts/ends with
 * a space); quotes doubled. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at
 * the start) is prefixed with an apostrophe, since questions and answers are user-supplied.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Feedback rows as CSV: a header line, CRLF line ends, passage ids joined with a space. */
export function feedbackToCsv(rows: FeedbackRow[]): string {
  const lines = [FEEDBACK_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [r.id, r.createdAt, r.vote, r.userId, r.guildId, r.questionId, r.question, r.answer, r.passageIds.join(' ')]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Feedback rows as a JSON array (pretty-printed, passage ids as an array). */
export function feedbackToJson(rows: FeedbackRow[]): string {
  return `${JSON.stringify(
    rows.map((r) => ({
      id: r.id,
      created_at: r.createdAt,
      vote: r.vote,
      user_id: r.userId,
      guild_id: r.guildId,
      question_id: r.questionId,
      question: r.question,
      answer: r.answer,
      passage_ids: r.passageIds,
    })),
    null,
    2,
  )}\n`;
}
