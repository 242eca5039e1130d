/**
 * Downloads an uploaded file (a Discord attachment) with a size cap and a time-out. The URL comes
 * from Discord's own interaction payload (its CDN), not from a user, so this is not the SSRF-hardened
 * `fetchArticle`; the cap is enforced on the Content-Length AND while reading, since neither the
 * declared size nor the header has to be true.
 */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export async function downloadLimited(url: string, options: DownloadOptions): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DownloadError('the attachment has no valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new DownloadError('the attachment has no http(s) URL');
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await (options.fetch ?? fetch)(parsed, { signal: controller.signal, redirect: 'follow' });
    if (!res.ok) throw new DownloadError(`downloading it failed (HTTP ${res.status})`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      throw new DownloadError(`it is larger than the limit of ${formatBytes(options.maxBytes)}`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > options.maxBytes) {
          controller.abort();
          throw new DownloadError(`it is larger than the limit of ${formatBytes(options.maxBytes)}`);
        }
        chunks.push(chunk);
      }
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return out;
  } catch (error) {
    if (error instanceof DownloadError) throw error;
    if (controller.signal.aborted) throw new DownloadError(`downloading it took longer than ${Math.round(timeoutMs / 1000)} s`);
    throw new DownloadError(`downloading it failed (${(error as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KB`;
  return `${bytes} bytes`;
}
