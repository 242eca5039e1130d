/**
 * Behaving well on a busy server: a per-user cooldown and a global concurrency limit with a queue.
 * Pure (no Discord, clock injectable) so they are tested directly.
 */

export type CooldownResult =
  | { ok: true }
  /** `notify` is true for the first refusal in a cooldown window only: a flood gets one note. */
  | { ok: false; retryAfterMs: number; notify: boolean };

/** Per-user cooldown: after an accepted question the same user waits `seconds` before the next. */
export class Cooldown {
  private readonly until = new Map<string, { until: number; notified: boolean }>();

  constructor(
    readonly seconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Accepts (and starts the user's cooldown) or refuses with the time left. */
  take(userId: string): CooldownResult {
    if (this.seconds <= 0) return { ok: true };
    const t = this.now();
    const entry = this.until.get(userId);
    if (entry && entry.until > t) {
      const notify = !entry.notified;
      entry.notified = true;
      return { ok: false, retryAfterMs: entry.until - t, notify };
    }
    this.until.set(userId, { until: t + this.seconds * 1000, notified: false });
    if (this.until.size > 10_000) this.sweep(t);
    return { ok: true };
  }

  /** Gives a user their question back (e.g. when it was rejected as invalid after all). */
  release(userId: string): void {
    this.until.delete(userId);
  }

  private sweep(t: number): void {
    for (const [user, entry] of this.until) if (entry.until <= t) this.until.delete(user);
  }
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
