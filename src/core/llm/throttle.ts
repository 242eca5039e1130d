/**
 * Rate-limits a function of one value (editing a Discord message as an answer streams in): the
 * first value is delivered at once, later ones at most once per `intervalMs`, always the latest
 * one, and the last value is always delivered (trailing call). Deliveries never overlap: when
 * `fn` returns a promise (an HTTP edit), the next one waits for it to settle and for the interval.
 * Errors thrown by `fn` go to `onError` and do not stop later deliveries. Pure apart from
 * `setTimeout` and `Date.now`, so fake timers test it.
 */
export interface Throttled<T> {
  (value: T): void;
  /** Resolves once the latest value has been delivered (after waiting out the interval) and nothing is running. */
  flush(): Promise<void>;
  /** Drops a value not yet delivered; resolves when the delivery in progress, if any, has settled. */
  cancel(): Promise<void>;
  /** How many times `fn` has been called. */
  readonly deliveries: number;
}

export function throttle<T>(
  fn: (value: T) => unknown,
  intervalMs: number,
  options: { onError?: (error: unknown) => void } = {},
): Throttled<T> {
  let lastStart = -Infinity;
  let pending: { value: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inFlight: Promise<void> | null = null;
  let deliveries = 0;
  let waiters: (() => void)[] = [];

  const idle = () => pending === null && inFlight === null && timer === null;
  const notify = () => {
    if (!idle()) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };

  const deliver = () => {
    const { value } = pending!;
    pending = null;
    lastStart = Date.now();
    deliveries++;
    inFlight = (async () => {
      try {
        await fn(value);
      } catch (error) {
        options.onError?.(error);
      }
    })().then(() => {
      inFlight = null;
      if (pending) schedule();
      notify();
    });
  };

  const schedule = () => {
    if (timer !== null || inFlight !== null || pending === null) return;
    const wait = lastStart + intervalMs - Date.now();
    if (wait <= 0) deliver();
    else
      timer = setTimeout(() => {
        timer = null;
        schedule();
        notify();
      }, wait);
  };

  const call = ((value: T) => {
    pending = { value };
    schedule();
  }) as Throttled<T>;
  call.flush = () =>
    new Promise<void>((resolve) => {
      waiters.push(resolve);
      notify();
    });
  call.cancel = async () => {
    pending = null;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (inFlight) await inFlight;
    notify();
  };
  Object.defineProperty(call, 'deliveries', { get: () => deliveries });
  return call;
}
