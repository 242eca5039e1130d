/**
 * The prompt of a written answer: instructions, the retrieved passages numbered [1]…[k] with their
 * titles, the earlier turns of a thread, and the question — never more than `maxContextChars`
 * characters in all (the sum of every message's content). Passages are taken in rank order and
 * cut at sentence boundaries ({@link splitSentences}) when the budget runs out.
 */
import { splitSentences } from '../text/sentences.js';
import type { ScoredPassage } from '../types.js';
import { LLM_DEFAULTS, type ChatMessage } from './client.js';

/** The exact reply asked for when the passages do not contain the answer. */
export const NOT_FOUND_REPLY = 'not in the knowledge base';

/** An earlier turn of the conversation: the question alone (what the bot stores) or with its answer. */
export type HistoryTurn = string | { question: string; answer?: string };

export interface PromptInput {
  question: string;
  /** Retrieved passages, best first. */
  passages: ScoredPassage[];
  /** Earlier turns, oldest first. */
  history?: HistoryTurn[];
  /** Cap on the characters of all messages together. Default 6,000. */
  maxContextChars?: number;
  /** Most passages shown to the model. Default 6. */
  maxPassages?: number;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** The passages in the prompt: `passages[n - 1]` is the one numbered [n]. */
  passages: ScoredPassage[];
  /** The text of each passage as the model saw it (a sentence-boundary prefix when cut). */
  excerpts: string[];
  /** Characters of all message contents. */
  chars: number;
  /** Passages shortened to fit, and passages left out for lack of room. */
  cut: number;
  leftOut: number;
}

export const SYSTEM_PROMPT = [
  "You answer questions for a Discord server using only the numbered passages from the server's knowledge base.",
  'Rules:',
  '- Use only facts stated in the passages; no outside knowledge, no guessing.',
  '- End every sentence with the number of the passage it comes from in square brackets, e.g. [1] or [2][3]. Cite only numbers that appear before a passage.',
  `- If the passages do not contain the answer, reply exactly: ${NOT_FOUND_REPLY}`,
  '- Be short: at most three sentences of plain text, no headings, lists or preamble.',
].join('\n');

const MAX_TITLE_CHARS = 120;
const MAX_HISTORY_TURNS = 3;
const MAX_HISTORY_QUESTION_CHARS = 300;
const MAX_HISTORY_ANSWER_CHARS = 400;
/** Share of the budget earlier turns may take. */
const HISTORY_SHARE = 0.25;
/** Share of the budget the question may take (a longer one is cut). */
const QUESTION_SHARE = 0.3;

/** Cuts at a word boundary, marking the cut. */
function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  if (one.length <= max) return one;
  if (max <= 1) return '';
  const cut = one.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Removes [n] markers (an earlier answer's numbers refer to other passages). */
function withoutMarkers(text: string): string {
  return text.replace(/\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]/g, '');
}

function historyBlock(history: HistoryTurn[] | undefined, budget: number): string {
  const turns = (history ?? [])
    .map((t) => (typeof t === 'string' ? { question: t } : t))
    .filter((t) => t.question?.trim())
    .slice(-MAX_HISTORY_TURNS);
  const lines: string[] = [];
  let used = 0;
  // Newest first, so that the turns dropped for room are the oldest.
  for (const t of [...turns].reverse()) {
    const q = `Q: ${clip(t.question, MAX_HISTORY_QUESTION_CHARS)}`;
    const a = t.answer?.trim() ? `A: ${clip(withoutMarkers(t.answer), MAX_HISTORY_ANSWER_CHARS)}` : '';
    const block = a ? `${q}\n${a}` : q;
    if (used + block.length + 1 > budget) break;
    lines.unshift(block);
    used += block.length + 1;
  }
  return lines.length > 0 ? `Earlier in this conversation:\n${lines.join('\n')}` : '';
}

/**
 * The longest run of whole leading sentences of `text` within `room` characters; when not even
 * the first sentence fits, `allowPartial` cuts it at a word instead (so the top passage is never lost).
 */
function fitSentences(text: string, room: number, allowPartial: boolean): string {
  if (text.length <= room) return text;
  let out = '';
  for (const s of splitSentences(text)) {
    const next = out ? `${out} ${s}` : s;
    if (next.length > room) break;
    out = next;
  }
  if (!out && allowPartial && room >= 80) out = clip(text, room);
  return out;
}

/** Builds the messages for one question; see {@link BuiltPrompt}. */
export function buildPrompt(input: PromptInput): BuiltPrompt {
  const cap = input.maxContextChars ?? LLM_DEFAULTS.maxContextChars;
  const maxPassages = input.maxPassages ?? 6;
  const question = clip(input.question, Math.max(40, Math.floor(cap * QUESTION_SHARE)));
  const history = historyBlock(input.history, Math.floor(cap * HISTORY_SHARE));

  const head = 'Passages:\n';
  const tail = `${history ? `\n\n${history}` : ''}\n\nQuestion: ${question}`;
  let room = cap - SYSTEM_PROMPT.length - head.length - tail.length;

  const included: ScoredPassage[] = [];
  const excerpts: string[] = [];
  const blocks: string[] = [];
  let cut = 0;
  for (const p of input.passages) {
    if (included.length >= maxPassages) break;
    const n = included.length + 1;
    const header = `[${n}] ${clip(p.articleTitle, MAX_TITLE_CHARS)}\n`;
    const separator = blocks.length > 0 ? 2 : 0; // "\n\n" between passages
    const textRoom = room - separator - header.length;
    if (textRoom <= 0) continue;
    const text = p.passage.text.replace(/\s+/g, ' ').trim();
    const excerpt = fitSentences(text, textRoom, included.length === 0);
    if (!excerpt) continue; // too long for what is left; a shorter, lower-ranked one may still fit
    if (excerpt.length < text.length) cut++;
    included.push(p);
    excerpts.push(excerpt);
    blocks.push(`${header}${excerpt}`);
    room -= separator + header.length + excerpt.length;
  }

  const user = `${head}${blocks.join('\n\n')}${tail}`;
  const messages: ChatMessage[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: user },
  ];
  const chars = SYSTEM_PROMPT.length + user.length;
  const considered = Math.min(input.passages.length, maxPassages);
  return { messages, passages: included, excerpts, chars, cut, leftOut: Math.max(0, considered - included.length) };
}
