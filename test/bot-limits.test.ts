import { describe, expect, it } from 'vitest';
import { AbortedError, ConcurrencyLimiter, Cooldown, TimeoutError, withTimeout } from '../src/bot/limits.js';
import { MemoryCooldowns } from '../src/core/store/local/cooldowns.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Cooldown', () => {
  it('lets a member ask once per window and notifies a flood once', async () => {
    let now = 1000;
    const c = new Cooldown(5, { store: new MemoryCooldowns(), now: () => now });
    expect(await c.take('a')).toEqual({ ok: true });
    expect(await c.take('b')).toEqual({ ok: true }); // per member
    expect(await c.take('a')).toEqual({ ok: false, retryAfterMs: 5000, notify: true });
    now += 1000;
    expect(await c.take('a')).toEqual({ ok: false, retryAfterMs: 4000, notify: false });
    now += 4000;
    expect(await c.take('a')).toEqual({ ok: true });
    await c.release('a');
    expect(await c.take('a')).toEqual({ ok: true }); // given back
    expect(await new Cooldown(0, { store: new MemoryCooldowns() }).take('a')).toEqual({ ok: true });
    expect(await new Cooldown(0, { store: new MemoryCooldowns() }).take('a')).toEqual({ ok: true });
  });

  it('keeps its windows in the store it is given, shared by every Cooldown on that store', async () => {
    const store = new MemoryCooldowns();
    const now = () => 1000;
    const one = new Cooldown(5, { store, now });
    const other = new Cooldown(5, { store, now }); // as another process on the same knowledge store
    expect(await one.take('a')).toEqual({ ok: true });
    expect(await other.take('a')).toEqual({ ok: false, retryAfterMs: 5000, notify: true });
    await other.release('a');
    expect(await one.take('a')).toEqual({ ok: true });
  });

  it('lets the question through, saying why, when the store fails or is slower than its deadline (Discord waits 3 s)', async () => {
    const errors: string[] = [];
    const hanging = { take: () => new Promise<never>(() => undefined), release: async () => undefined, sweep: async () => 0 };
    const slow = new Cooldown(5, { store: hanging, deadlineMs: 50, onError: (e) => errors.push(e.message) });
    expect(await slow.take('a')).toEqual({ ok: true });
    const broken = { ...hanging, take: async () => Promise.reject(new Error('connection terminated')) };
    expect(await new Cooldown(5, { store: broken, onError: (e) => errors.push(e.message) }).take('a')).toEqual({ ok: true });
    expect(errors).toEqual(['timed out after 50 ms', 'connection terminated']);
  });
});

describe('ConcurrencyLimiter', () => {
  it('runs at most max at once, queues the rest in order, drops nothing', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const gates = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const results = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(limiter.waiting).toBe(3);
    gates[1]!.resolve();
    await results[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.running).toBe(0);
  });

  it('a failing task frees its slot; an aborted waiting task leaves the queue', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const second = limiter.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(AbortedError);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(limiter.waiting).toBe(0);
  });
});

describe('withTimeout', () => {
  it('resolves in time, or rejects with TimeoutError and aborts the signal', async () => {
    expect(await withTimeout(1000, async () => 7)).toBe(7);
    let signal: AbortSignal | undefined;
    await expect(
      withTimeout(20, (s) => {
        signal = s;
        return new Promise(() => undefined);
      }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
  });
});
