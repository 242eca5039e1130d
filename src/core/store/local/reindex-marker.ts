/**
 * The reindex marker of a local knowledge base, in memory: one process owns a local data folder,
 * and a marker must not outlive the process that set it (a crash would otherwise leave one behind
 * until it lapsed). Kept by the store rather than the tenant handle, so closing and re-opening a
 * knowledge base while its reindex runs keeps it.
 */
import type { Actor } from '../audit.js';
import type { ReindexMarker, ReindexMarkerStore } from '../port.js';

export class MemoryReindexMarker implements ReindexMarkerStore {
  private marker?: ReindexMarker;

  async claim(input: { holder: string; actor: Actor; ttlMs: number; now?: number }): Promise<{ ok: true; marker: ReindexMarker } | { ok: false; running: ReindexMarker }> {
    const now = input.now ?? Date.now();
    const running = this.live(now);
    if (running && running.holder !== input.holder) return { ok: false, running: { ...running } };
    this.marker = { holder: input.holder, actor: { ...input.actor }, since: now, expiresAt: now + input.ttlMs };
    return { ok: true, marker: { ...this.marker } };
  }

  async renew(holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    if (this.marker?.holder !== holder) return false;
    this.marker.expiresAt = now + ttlMs;
    return true;
  }

  async release(holder: string): Promise<void> {
    if (this.marker?.holder === holder) this.marker = undefined;
  }

  async current(now = Date.now()): Promise<ReindexMarker | undefined> {
    const running = this.live(now);
    return running && { ...running, actor: { ...running.actor } };
  }

  private live(now: number): ReindexMarker | undefined {
    return this.marker && this.marker.expiresAt > now ? this.marker : undefined;
  }
}
