/**
 * Cooldowns of the local backend, in memory: one process owns a local data folder, so there is
 * nobody to share them with, and a restart forgetting a few seconds of cooldown harms nobody
 * (a SQLite table would only add a write per question).
 */
import type { CooldownStore, CooldownTake } from '../port.js';

/** Past this many keys, a take first forgets the expired ones (a cheap bound on memory). */
const SWEEP_ABOVE_KEYS = 10_000;

export class MemoryCooldowns implements CooldownStore {
  private readonly windows = new Map<string, { until: number; notified: boolean }>();

  async take(key: string, windowMs: number, now = Date.now()): Promise<CooldownTake> {
    const window = this.windows.get(key);
    if (window && window.until > now) {
      const notify = !window.notified;
      window.notified = true;
      return { ok: false, retryAfterMs: window.until - now, notify };
    }
    this.windows.set(key, { until: now + windowMs, notified: false });
    if (this.windows.size > SWEEP_ABOVE_KEYS) this.forgetEnded(now);
    return { ok: true };
  }

  async release(key: string): Promise<void> {
    this.windows.delete(key);
  }

  async sweep(now = Date.now()): Promise<number> {
    return this.forgetEnded(now);
  }

  private forgetEnded(now: number): number {
    let n = 0;
    for (const [key, window] of this.windows) {
      if (window.until <= now) {
        this.windows.delete(key);
        n++;
      }
    }
    return n;
  }
}
