/**
 * Articles → Markdown files for `knowledge/`, written so that loading the file again
 * (`loadBuffer` → `markdownToArticle`) gives back the same title, URL and paragraphs, hence the
 * same article id and content hash: `npm run ingest` of a file the bot wrote finds it unchanged.
 */
import { splitParagraphs } from '../chunk.js';

export interface MarkdownArticle {
  title: string;
  body: string;
  url?: string;
  date?: string;
  author?: string;
  /** Extra front-matter fields for people (the loader ignores them). */
  meta?: Record<string, string | undefined>;
}

/**
 * Escapes one paragraph (one line of plain text) so the Markdown loader reads it back verbatim:
 * every inline construct it would interpret (code, links, emphasis, tags, entities, escapes) and
 * every block construct that can start a line (headings, lists, quotes, rules, tables, fences).
 */
export function escapeMarkdownText(text: string, options: { heading?: boolean } = {}): string {
  let t = text
    .replace(/\\/g, '\\\\')
    // Entities are decoded by the loader: protect anything that looks like one, and "<" (tags,
    // autolinks, HTML comments) by writing it as an entity.
    .replace(/&(?=#x[0-9a-f]+;|#\d+;|[a-z]+;)/gi, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/[`*_~[\]|]/g, (c) => `\\${c}`);
  // Line starts: heading, quote, list bullet, numbered list, rule, table.
  // In a heading every "#" counts (a closing "#" sequence is dropped by the loader).
  if (options.heading) return t.replace(/#/g, '\\#');
  t = t.replace(/^([#>+-])/, '\\$1').replace(/^(\d{1,9})([.)])/, '$1\\$2');
  return t;
}

const RESERVED = new Set(['title', 'url', 'source', 'date', 'author', 'authors']);

function yamlString(value: string): string {
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(value.replace(/\s+/g, ' ').trim());
}

/** The whole file: YAML front matter (title, url, date, extras), a `# Title` heading, the paragraphs. */
export function articleToMarkdown(article: MarkdownArticle): string {
  const fm: string[] = ['---', `title: ${yamlString(article.title)}`];
  if (article.url) fm.push(`url: ${yamlString(article.url)}`);
  if (article.date) fm.push(`date: ${yamlString(article.date)}`);
  if (article.author) fm.push(`author: ${yamlString(article.author)}`);
  for (const [key, value] of Object.entries(article.meta ?? {})) {
    // title, url, source, date and author are read by the loader: extras never use those keys.
    if (value !== undefined && /^[a-z_][a-z0-9_]*$/i.test(key) && !RESERVED.has(key.toLowerCase())) fm.push(`${key}: ${yamlString(value)}`);
  }
  fm.push('---');
  const paragraphs = splitParagraphs(article.body).map((p) => escapeMarkdownText(p));
  return `${fm.join('\n')}\n\n# ${escapeMarkdownText(article.title.replace(/\s+/g, ' ').trim(), { heading: true })}\n\n${paragraphs.join('\n\n')}\n`;
}
