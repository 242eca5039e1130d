/**
 * The lexical side in Postgres: tsvectors built here, with the very tokeniser and Porter stemmer
 * of the local BM25 index (`processTerm`), rather than Postgres's `english` configuration
 * (Snowball stems and another stop list), so both backends match the same words and hybrid
 * quality does not depend on the backend. Ranking is BM25 computed in SQL over the GIN matches
 * (`ts_rank` has no inverse document frequency, which costs retrieval quality).
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
  /** One single-lexeme tsquery per lexeme (document frequencies), and their OR (matching). */
  single: string[];
  any: string;
}

export function lexicalQuery(text: string): LexicalQuery | undefined {
  const counts = new Map<string, number>();
  for (const token of wordTokens(text)) {
    const lexeme = processTerm(token);
    if (lexeme) counts.set(lexeme, (counts.get(lexeme) ?? 0) + 1);
  }
  if (counts.size === 0) return undefined;
  const lexemes = [...counts.keys()];
  const single = lexemes.map(quoteLexeme);
  return { lexemes, counts: lexemes.map((l) => counts.get(l)!), single, any: single.join(' | ') };
}

export const BM25_DEFAULTS = { titleBoost: 0.5, k1: 1.2, b: 0.75, d: 0.5 };

export function bm25Params(options: LexicalOptions = {}): typeof BM25_DEFAULTS {
  return { ...BM25_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
}

/**
 * BM25+ as the local index (MiniSearch) scores it: per field, idf = ln(1 + (N − df + 0.5) / (df + 0.5))
 * and tf saturation with k1, b and d; title matches weighted by `titleBoost`; the sum multiplied
 * by the number of distinct query words matched. Parameters: $1 tenant, $2 lexemes, $3 counts,
 * $4 single tsqueries, $5 the OR tsquery, $6 k, then titleBoost, k1, b, d as $7..$10.
 * Produces `label, score`.
 */
export const BM25_CTES = `
  q AS (
    SELECT lex, n, tq::tsquery AS tq FROM unnest($2::text[], $3::int[], $4::text[]) AS t(lex, n, tq)
  ),
  st AS (
    SELECT GREATEST(passages, 1)::float8 AS n_docs,
           GREATEST(text_len_sum::float8 / GREATEST(passages, 1), 1e-9) AS avg_text,
           GREATEST(title_len_sum::float8 / GREATEST(passages, 1), 1e-9) AS avg_title
    FROM kb_tenants WHERE tenant = $1
  ),
  -- Materialised: inlined, its counts would run once per matching row instead of once per word.
  df AS MATERIALIZED (
    SELECT q.lex, q.n,
      (SELECT count(*) FROM kb_passages p WHERE p.tenant = $1 AND p.lex_text @@ q.tq)::float8 AS df_text,
      (SELECT count(*) FROM kb_passages p WHERE p.tenant = $1 AND p.lex_title @@ q.tq)::float8 AS df_title
    FROM q
  ),
  cand AS (
    SELECT label, lex_text, lex_title, text_len, title_len FROM kb_passages
    WHERE tenant = $1 AND (lex_text @@ $5::tsquery OR lex_title @@ $5::tsquery)
  ),
  hits AS (
    SELECT c.label, u.lexeme, false AS title, cardinality(u.positions)::float8 AS tf, c.text_len::float8 AS len
      FROM cand c, unnest(c.lex_text) u WHERE u.lexeme = ANY ($2::text[])
    UNION ALL
    SELECT c.label, u.lexeme, true, cardinality(u.positions)::float8, c.title_len::float8
      FROM cand c, unnest(c.lex_title) u WHERE u.lexeme = ANY ($2::text[])
  ),
  lexical AS (
    SELECT h.label,
      SUM(df.n * (CASE WHEN h.title THEN $7::float8 ELSE 1 END)
          * ln(1 + (st.n_docs - (CASE WHEN h.title THEN df.df_title ELSE df.df_text END) + 0.5)
                 / ((CASE WHEN h.title THEN df.df_title ELSE df.df_text END) + 0.5))
          * ($10::float8 + h.tf * ($8::float8 + 1)
              / (h.tf + $8::float8 * (1 - $9::float8 + $9::float8 * h.len / (CASE WHEN h.title THEN st.avg_title ELSE st.avg_text END)))))
        * count(DISTINCT h.lexeme) AS score
    FROM hits h JOIN df ON df.lex = h.lexeme CROSS JOIN st
    GROUP BY h.label
    ORDER BY score DESC, h.label
    LIMIT $6
  )`;
