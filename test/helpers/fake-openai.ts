import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests: scripted replies,
 * streamed (SSE) when the request asks for `stream: true`, every request recorded.
 */
export interface ScriptedReply {
  /** The assistant's text. Streamed in `chunks` (default: word by word) when the request streams. */
  text?: string;
  /** Explicit stream pieces (overrides splitting `text`). */
  chunks?: string[];
  /** HTTP status; anything but 200 sends `errorBody` (default an OpenAI-style error). */
  status?: number;
  errorBody?: string;
  /** Wait before answering at all. */
  delayMs?: number;
  /** Wait between streamed chunks. */
  chunkDelayMs?: number;
  /** Never answer (for time-outs). */
  hang?: boolean;
  /** Answer a streaming request with one JSON object instead of events. */
  ignoreStream?: boolean;
  finishReason?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { model?: string; messages?: { role: string; content: string }[]; stream?: boolean; max_tokens?: number; [k: string]: unknown };
}

export interface FakeOpenAI {
  /** Base URL to configure, e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Queue replies (used in order); when the queue is empty, `respond` (or a default) is used. */
  script(...replies: ScriptedReply[]): void;
  respond: ((req: RecordedRequest) => ScriptedReply) | undefined;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: ScriptedReply[] = [];
  const requests: RecordedRequest[] = [];
  const fake: FakeOpenAI = {
    baseUrl: '',
    requests,
    script: (...replies) => queue.push(...replies),
    respond: undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const send = async (res: ServerResponse, req: RecordedRequest, reply: ScriptedReply) => {
    if (reply.hang) return;
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.status && reply.status !== 200) {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.errorBody ?? JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } }));
      return;
    }
    const text = reply.text ?? '';
    const model = req.body.model ?? 'fake-model';
    const finish = reply.finishReason ?? 'stop';
    if (!req.body.stream || reply.ignoreStream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const event = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
    res.write(': keep-alive\n\n');
    res.write(event({ role: 'assistant', content: '' }));
    for (const chunk of reply.chunks ?? wordChunks(text)) {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      if (res.destroyed) return;
      res.write(event({ content: chunk }));
    }
    res.write(event({}, finish));
    res.end('data: [DONE]\n\n');
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      let body: RecordedRequest['body'] = {};
      try {
        body = JSON.parse(raw);
      } catch {
        // recorded as empty
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body };
      requests.push(recorded);
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const reply = queue.shift() ?? fake.respond?.(recorded) ?? { text: 'not in the knowledge base' };
      void send(res, recorded, reply).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}
