/**
 * Behaving well on a busy server: a per-member cooldown and a global concurrency limit with a queue.
 * No Discord here, clock injectable, so they are tested directly.
 */
import type { CooldownStore, CooldownTake } from '../core/store/port.js';

/** `notify` is true for the first refusal in a cooldown window only: a flood gets one note. */
export type CooldownResult = CooldownTake;

export interface CooldownOptions {
  /**
   * Where the windows live: the knowledge store's `cooldowns`, so the cooldown holds whichever
   * process an interaction lands on (in memory for the local backend, a table on PostgreSQL).
   */
  store: CooldownStore;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * The longest a take may wait for the store. The cooldown is read before the interaction is
   * acknowledged, and Discord gives 3 s for that: past this the question is let through (and
   * `onError` told) rather than left unanswered. Default 1,000 ms.
   */
  deadlineMs?: number;
  /** Told when the store failed or was too slow and a question was let through. */
  onError?: (error: Error) => void;
}

/** Per-member cooldown: after an accepted question the same member waits `seconds` before the next, bot-wide. */
export class Cooldown {
  private readonly store: CooldownStore;
  private readonly now: () => number;
  private readonly deadlineMs: number;
  private readonly onError?: (error: Error) => void;

  constructor(
    readonly seconds: number,
    options: CooldownOptions,
  ) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.deadlineMs = options.deadlineMs ?? 1000;
    this.onError = options.onError;
  }

  /** Accepts (and starts the member's cooldown) or refuses with the time left. */
  async take(userId: string): Promise<CooldownResult> {
    if (this.seconds <= 0) return { ok: true };
    try {
      return await withTimeout(this.deadlineMs, () => this.store.take(cooldownKey(userId), this.seconds * 1000, this.now()));
    } catch (error) {
      // Better a member asking twice than a question Discord shows as "did not respond".
      this.onError?.(error as Error);
      return { ok: true };
    }
  }

  /** Gives a member their question back (e.g. when it was rejected as invalid after all). */
  async release(userId: string): Promise<void> {
    if (this.seconds > 0) await this.store.release(cooldownKey(userId));
  }
}

/** The store's cooldowns are keyed by purpose, so another kind of cooldown never shares a member's window. */
function cooldownKey(userId: string): string {
  return `question:${userId}`;
}

export class AbortedError extends Error {
  override name = 'AbortedError';
}

interface Waiting {
  start: () => void;
  reject: (error: Error) => void;
}

/**
 * At most `max` tasks run at once; the rest wait in FIFO order (nothing is dropped). A task whose
 * signal aborts while it waits leaves the queue without running.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly queue: Waiting[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a whole number >= 1 (got ${max})`);
  }

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new AbortedError('aborted before it started'));
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        let result: Promise<T>;
        try {
          result = task();
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(resolve, reject).finally(() => {
          this.active--;
          this.next();
        });
      };
      const waiting: Waiting = { start, reject };
      const onAbort = () => {
        const i = this.queue.indexOf(waiting);
        if (i >= 0) {
          this.queue.splice(i, 1);
          reject(new AbortedError('aborted while waiting in the queue'));
        }
      };
      if (this.active < this.max) {
        start();
      } else {
        signal?.addEventListener('abort', onAbort, { once: true });
        this.queue.push(waiting);
      }
    });
  }

  private next(): void {
    while (this.active < this.max && this.queue.length > 0) this.queue.shift()!.start();
  }
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/**
 * Runs `work` with an AbortSignal that fires after `ms`; rejects with {@link TimeoutError} at that
 * moment even when `work` ignores the signal (its result is then dropped).
 */
export function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TimeoutError(ms));
    }, ms);
  });
  const run = Promise.resolve().then(() => work(controller.signal));
  run.catch(() => undefined); // a late failure after the time-out is not an unhandled rejection
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}
