/**
 * The operator's endpoint (`HEALTH_PORT`, on 127.0.0.1 unless `HEALTH_HOST` says otherwise):
 * `GET /healthz` answers 200 with a JSON report when every gateway shard is connected, the store
 * answers and the embedding model works, else 503 with the same report saying what is wrong;
 * `GET /metrics` is the Prometheus text of {@link BotMetrics}. Nothing else is served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotMetrics } from './metrics.js';

export interface HealthReport {
  ok: boolean;
  shards: { id: number; ready: boolean; status: number; pingMs: number; guilds: number }[];
  store: { ok: boolean; articles?: number; error?: string };
  model: { ok: boolean; model: string; error?: string };
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(options: {
  host: string;
  port: number;
  health: () => Promise<HealthReport>;
  metrics: Pick<BotMetrics, 'contentType' | 'text'>;
  log?: (message: string, error?: unknown) => void;
}): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    const respond = async () => {
      if (path === '/healthz') {
        const report = await options.health();
        return send(report.ok ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
      }
      if (path === '/metrics') return send(200, options.metrics.contentType, await options.metrics.text());
      return send(404, 'text/plain', 'Not found: use /healthz or /metrics\n');
    };
    respond().catch((error: unknown) => {
      options.log?.('health endpoint failed', error);
      if (!res.headersSent) send(500, 'text/plain', 'internal error\n');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Runs `probe` at most once per `ttlMs`, sharing the result (a health check must not load the model on every scrape). */
export function cached<T>(probe: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > ttlMs) last = { at: now, value: probe() };
    return last.value;
  };
}
