/**
 * The lexical side in Postgres: tsvectors built here, with the very tokeniser and Porter stemmer
 * of the local BM25 index (`processTerm`), rather than Postgres's `english` configuration
 * (Snowball stems and another stop list), so both backends match the same words and hybrid
 * quality does not depend on the backend. Ranking is BM25 computed in SQL over postings derived
 * from those tsvectors (`ts_rank` has no inverse document frequency, which costs retrieval quality).
 */
import { processTerm, type LexicalOptions } from '../lexical-index.js';
import { wordTokens } from '../../text/tokens.js';

/** tsvector positions are 14 bits. */
const MAX_POSITION = 16383;

export interface FieldLexemes {
  /** A tsvector literal: `'lexeme':1,4 'other':2`. */
  tsvector: string;
  /** Distinct words (stop words included): the field length BM25 normalises by. */
  length: number;
}

function quoteLexeme(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function fieldLexemes(text: string): FieldLexemes {
  const tokens = wordTokens(text);
  const positions = new Map<string, number[]>();
  tokens.forEach((token, i) => {
    const lexeme = processTerm(token);
    if (!lexeme) return;
    const list = positions.get(lexeme);
    const pos = Math.min(i + 1, MAX_POSITION);
    if (list) {
      if (list[list.length - 1] !== pos) list.push(pos);
    } else positions.set(lexeme, [pos]);
  });
  const parts = [...positions].map(([lexeme, pos]) => `${quoteLexeme(lexeme)}:${pos.join(',')}`);
  return { tsvector: parts.join(' '), length: new Set(tokens).size };
}

export interface LexicalQuery {
  /** Distinct query lexemes and how often each occurs in the query (a repeated word counts again). */
  lexemes: string[];
  counts: number[];
}

export function lexicalQuery(text: string): LexicalQuery | undefined {
  const counts = new Map<string, number>();
  for (const token of wordTokens(text)) {
    const lexeme = processTerm(token);
    if (lexeme) counts.set(lexeme, (counts.get(lexeme) ?? 0) + 1);
  }
  if (counts.size === 0) return undefined;
  const lexemes = [...counts.keys()];
  return { lexemes, counts: lexemes.map((l) => counts.get(l)!) };
}

export const BM25_DEFAULTS = { titleBoost: 0.5, k1: 1.2, b: 0.75, d: 0.5 };

export function bm25Params(options: LexicalOptions = {}): typeof BM25_DEFAULTS {
  return { ...BM25_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
}

/**
 * BM25+ as the local index (MiniSearch) scores it: per field, idf = ln(1 + (N − df + 0.5) / (df + 0.5))
 * and tf saturation with k1, b and d; title matches weighted by `titleBoost`; the sum multiplied
 * by the number of distinct query words matched. Read from `kb_postings` (one row per passage,
 * field and lexeme, kept by a trigger): the postings of the query's lexemes are all the statement
 * reads, and their counts are the document frequencies. Parameters: $1 tenant, $2 lexemes,
 * $3 counts, $4 k, then titleBoost, k1, b, d as $5..$8. Produces `label, score`.
 */
export const BM25_CTES = `
  q AS (
    SELECT lex, n FROM unnest($2::text[], $3::int[]) AS t(lex, n)
  ),
  st AS (
    SELECT GREATEST(passages, 1)::float8 AS n_docs,
           GREATEST(text_len_sum::float8 / GREATEST(passages, 1), 1e-9) AS avg_text,
           GREATEST(title_len_sum::float8 / GREATEST(passages, 1), 1e-9) AS avg_title
    FROM kb_tenants WHERE tenant = $1
  ),
  -- Materialised: read once for the document frequencies and once for the scores.
  hits AS MATERIALIZED (
    SELECT label, lexeme, title, tf::float8 AS tf, len::float8 AS len
    FROM kb_postings WHERE tenant = $1 AND lexeme = ANY ($2::text[])
  ),
  df AS (
    SELECT lexeme, title, count(*)::float8 AS df FROM hits GROUP BY lexeme, title
  ),
  -- Per passage and lexeme first (title and text summed), so the distinct lexemes matched are a
  -- plain count in the next step rather than a count(DISTINCT), which needs a sort per passage.
  per_lexeme AS (
    SELECT h.label,
      SUM(q.n * (CASE WHEN h.title THEN $5::float8 ELSE 1 END)
          * ln(1 + (st.n_docs - df.df + 0.5) / (df.df + 0.5))
          * ($8::float8 + h.tf * ($6::float8 + 1)
              / (h.tf + $6::float8 * (1 - $7::float8 + $7::float8 * h.len / (CASE WHEN h.title THEN st.avg_title ELSE st.avg_text END))))) AS s
    FROM hits h JOIN df ON df.lexeme = h.lexeme AND df.title = h.title JOIN q ON q.lex = h.lexeme CROSS JOIN st
    GROUP BY h.label, h.lexeme
  ),
  -- Rounded to 1e-9: sums in another order differ in the last bits, and equal scores must fall to
  -- the label order rather than to that noise (which passage of a tie makes the top k).
  lexical AS (
    SELECT label, round((SUM(s) * count(*))::numeric, 9)::float8 AS score
    FROM per_lexeme
    GROUP BY label
    ORDER BY score DESC, label
    LIMIT $4
  )`;
