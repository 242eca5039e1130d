/**
 * A client for the OpenAI-compatible chat-completions API (`POST {baseUrl}/chat/completions`),
 * as served by OpenAI and hosted look-alikes, Ollama (`http://127.0.0.1:11434/v1`), llama.cpp's
 * server (`http://127.0.0.1:8080/v1`) and vLLM (`http://127.0.0.1:8000/v1`).
 *
 * Plain `fetch` with a small server-sent-events parser rather than the `openai` package: it is one
 * endpoint and a few fields, so an extra dependency buys little, and owning the request gives
 * full control over the time-out (one AbortController over the whole reply, streaming included),
 * over what an error message says (status and a short reason, never the API key) and over
 * servers that answer a streaming request with plain JSON.
 *
 * The API key is kept in a private field: it is sent in the `Authorization` header only, and it is
 * never logged, put in an error, or reachable by serialising the client.
 */

/** Settings of the client; the same shape as `config.llm`. */
export interface LlmSettings {
  /** Base URL up to the API version, e.g. `http://127.0.0.1:11434/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when set; local servers usually need none. */
  apiKey?: string;
  /** The whole reply (streamed or not) must arrive within this many ms. Default 20,000. */
  timeoutMs?: number;
  /** `max_tokens` of every request. Default 300. */
  maxTokens?: number;
  /** Characters of prompt (instructions, question, earlier turns, passages) the model may see. Default 6,000. */
  maxContextChars?: number;
  /** Sampling temperature. Default 0.1 (grounded answers, little invention). */
  temperature?: number;
}

export const LLM_DEFAULTS = { timeoutMs: 20_000, maxTokens: 300, maxContextChars: 6000, temperature: 0.1 } as const;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionOptions {
  /** Aborts the request (e.g. the adapter's own answer time-out). */
  signal?: AbortSignal;
  maxTokens?: number;
}

export interface StreamOptions extends CompletionOptions {
  /** Called for every piece of text as it arrives, with everything received so far. */
  onDelta?: (delta: string, textSoFar: string) => void;
}

export interface Completion {
  text: string;
  /** `stop`, `length` (cut by max_tokens), … as the server reported it. */
  finishReason?: string;
  model?: string;
  ms: number;
}

/** What {@link writeAnswer} needs from a client; tests and other back ends can supply their own. */
export interface ChatClient {
  readonly model: string;
  /** Characters of context the prompt may use (see {@link LlmSettings.maxContextChars}). */
  readonly maxContextChars?: number;
  complete(messages: ChatMessage[], options?: CompletionOptions): Promise<Completion>;
  stream(messages: ChatMessage[], options?: StreamOptions): Promise<Completion>;
}

export type LlmErrorKind = 'timeout' | 'aborted' | 'network' | 'http' | 'bad-response';

/**
 * A failed request. `message` is short and safe to log: the server's host, the HTTP status and
 * the first words of the server's reason, with anything that looks like a key removed.
 */
export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const MAX_REASON_CHARS = 200;
const MAX_ERROR_BODY_BYTES = 4096;

/** Removes the key itself and anything shaped like a bearer token or API key from text a server sent. */
export function redactSecrets(text: string, secret?: string): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out
    .replace(/Bearer\s+[^\s"',]+/gi, 'Bearer [redacted]')
    .replace(/\b(sk|pk|rk|key|api|gsk|hf|xai)[-_][A-Za-z0-9_\-*.]{6,}/gi, '[redacted]');
}

function shorten(text: string, max = MAX_REASON_CHARS): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

export class LlmClient implements ChatClient {
  readonly #apiKey: string | undefined;
  readonly #endpoint: string;
  readonly #fetch: typeof fetch;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxTokens: number;
  readonly maxContextChars: number;
  readonly temperature: number;
  /** `host:port` of the server, for messages (no credentials, no path). */
  readonly host: string;

  constructor(settings: LlmSettings, options: { fetch?: typeof fetch } = {}) {
    const url = new URL(settings.baseUrl);
    this.host = url.host;
    this.#endpoint = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.#apiKey = settings.apiKey || undefined;
    this.#fetch = options.fetch ?? fetch;
    this.model = settings.model;
    this.timeoutMs = settings.timeoutMs ?? LLM_DEFAULTS.timeoutMs;
    this.maxTokens = settings.maxTokens ?? LLM_DEFAULTS.maxTokens;
    this.maxContextChars = settings.maxContextChars ?? LLM_DEFAULTS.maxContextChars;
    this.temperature = settings.temperature ?? LLM_DEFAULTS.temperature;
  }

  /** One request, the whole reply at once. */
  async complete(messages: ChatMessage[], options: CompletionOptions = {}): Promise<Completion> {
    return this.request(messages, false, options);
  }

  /** One request streamed as server-sent events; `onDelta` sees the text as it arrives. */
  async stream(messages: ChatMessage[], options: StreamOptions = {}): Promise<Completion> {
    return this.request(messages, true, options);
  }

  private async request(messages: ChatMessage[], stream: boolean, options: StreamOptions): Promise<Completion> {
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onAbort = () => controller.abort();
    if (options.signal?.aborted) controller.abort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
    };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    const body = JSON.stringify({
      model: this.model,
      messages,
      max_tokens: options.maxTokens ?? this.maxTokens,
      temperature: this.temperature,
      stream,
    });

    try {
      const response = await this.#fetch(this.#endpoint, { method: 'POST', headers, body, signal: controller.signal });
      if (!response.ok) {
        const reason = await this.errorReason(response);
        throw new LlmError('http', `${this.host} answered HTTP ${response.status}${reason ? `: ${reason}` : ''}`, response.status);
      }
      const type = response.headers.get('content-type') ?? '';
      // Some servers ignore `stream: true` and answer with one JSON object: accept that too.
      const result = stream && response.body && !type.includes('application/json')
        ? await this.readEvents(response.body, options.onDelta)
        : this.parseCompletion(await response.text(), options.onDelta);
      return { ...result, ms: performance.now() - started };
    } catch (error) {
      throw this.asLlmError(error, timedOut, options.signal);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private asLlmError(error: unknown, timedOut: boolean, signal?: AbortSignal): LlmError {
    if (timedOut) return new LlmError('timeout', `${this.host} sent no complete reply within ${this.timeoutMs} ms`);
    if (signal?.aborted) return new LlmError('aborted', `the request to ${this.host} was cancelled`);
    if (error instanceof LlmError) return error;
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const detail = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
    return new LlmError('network', `could not reach ${this.host}: ${shorten(redactSecrets(String(detail), this.#apiKey))}`);
  }

  /** The server's reason for an error status: `error.message` of a JSON body, else the start of the text. */
  private async errorReason(response: Response): Promise<string> {
    let text = '';
    try {
      text = await readLimited(response, MAX_ERROR_BODY_BYTES);
    } catch {
      return '';
    }
    let reason = text;
    try {
      const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
      const candidate = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message ?? json.detail);
      if (typeof candidate === 'string') reason = candidate;
    } catch {
      // not JSON: the text itself
    }
    if (/^\s*</.test(reason)) reason = reason.replace(/<[^>]*>/g, ' '); // an HTML error page
    return shorten(redactSecrets(reason, this.#apiKey));
  }

  private parseCompletion(text: string, onDelta?: (delta: string, soFar: string) => void): Omit<Completion, 'ms'> {
    let json: { choices?: { message?: { content?: unknown }; finish_reason?: string }[]; model?: string; error?: unknown };
    try {
      json = JSON.parse(text);
    } catch {
      throw new LlmError('bad-response', `${this.host} sent a reply that is not JSON: ${shorten(redactSecrets(text, this.#apiKey), 80)}`);
    }
    if (json.error) throw new LlmError('bad-response', `${this.host} sent an error: ${this.describe(json.error)}`);
    const choice = json.choices?.[0];
    const content = typeof choice?.message?.content === 'string' ? choice.message.content : '';
    if (content) onDelta?.(content, content);
    return { text: content, finishReason: choice?.finish_reason ?? undefined, model: json.model };
  }

  private describe(error: unknown): string {
    const message = typeof error === 'string' ? error : (error as { message?: unknown })?.message;
    return shorten(redactSecrets(typeof message === 'string' ? message : JSON.stringify(error), this.#apiKey));
  }

  /**
   * Reads `data:` events until `[DONE]` or the end of the body. Each event's data is a chunk
   * `{ choices: [{ delta: { content }, finish_reason }] }`; comments (`: ping`) and other fields are ignored.
   */
  private async readEvents(
    body: ReadableStream<Uint8Array>,
    onDelta?: (delta: string, soFar: string) => void,
  ): Promise<Omit<Completion, 'ms'>> {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    let buffer = '';
    let data: string[] = [];
    let text = '';
    let finishReason: string | undefined;
    let model: string | undefined;
    let done = false;

    const dispatch = () => {
      if (data.length === 0) return;
      const payload = data.join('\n');
      data = [];
      if (payload.trim() === '[DONE]') {
        done = true;
        return;
      }
      let chunk: { choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[]; model?: string; error?: unknown };
      try {
        chunk = JSON.parse(payload);
      } catch {
        throw new LlmError('bad-response', `${this.host} sent a stream event that is not JSON`);
      }
      if (chunk.error) throw new LlmError('bad-response', `${this.host} sent an error: ${this.describe(chunk.error)}`);
      model ??= chunk.model;
      const choice = chunk.choices?.[0];
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      const delta = choice?.delta?.content;
      if (typeof delta === 'string' && delta) {
        text += delta;
        onDelta?.(delta, text);
      }
    };
    const line = (raw: string) => {
      const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (l === '') return dispatch();
      if (l.startsWith(':')) return; // comment / keep-alive
      const colon = l.indexOf(':');
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? '' : l.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
    };

    let ended = false;
    try {
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) {
          ended = true;
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while (!done && (nl = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      }
      if (!done) {
        buffer += decoder.decode();
        if (buffer) line(buffer);
        dispatch();
      }
    } finally {
      // After [DONE], a bad event or an abort: stop reading and let the connection go.
      if (!ended) await reader.cancel().catch(() => undefined);
    }
    return { text, finishReason, model };
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    while (bytes < maxBytes) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/** The client for `config.llm`, or undefined when no model is configured (extractive answers only). */
export function createLlmClient(settings: LlmSettings | undefined, options?: { fetch?: typeof fetch }): LlmClient | undefined {
  return settings?.baseUrl ? new LlmClient(settings, options) : undefined;
}
