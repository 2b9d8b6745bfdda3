import { describe, expect, it } from 'vitest';
import { RateLimitedError } from 'tether/auth';
import { IdentityGate, RateLimiter } from 'tether/server';

describe('token-bucket rate limits', () => {
  it('lets a burst through, then one call per 1/rate seconds, with the wait in whole seconds', () => {
    const limiter = new RateLimiter(2, 3);
    const at = 1_000;
    expect([limiter.take('a', at), limiter.take('a', at), limiter.take('a', at)]).toEqual([0, 0, 0]);
    expect(limiter.take('a', at)).toBe(1);
    expect(limiter.take('b', at), 'each key has its own bucket').toBe(0);
    expect(limiter.take('a', at + 500), 'half a second at 2/s refills one token').toBe(0);
    expect(limiter.take('a', at + 500)).toBe(1);
    const slow = new RateLimiter(1 / 60, 1);
    slow.take('x', 0);
    expect(slow.take('x', 0), 'one a minute: wait a minute').toBe(60);
  });
});

describe('per-identity session gate', () => {
  const later = (): { promise: Promise<void>; resolve: () => void } => {
    let resolve = (): void => {};
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };

  it('runs at most perIdentity calls of one identity at once, queues the next in order, refuses beyond', async () => {
    const gate = new IdentityGate(2, 2);
    const blockers = [later(), later(), later(), later()];
    const order: number[] = [];
    const calls = blockers.map((b, i) =>
      gate.run('alice', async () => {
        order.push(i);
        await b.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    expect(gate.running('alice')).toBe(2);
    await expect(gate.run('alice', async () => 9)).rejects.toBeInstanceOf(RateLimitedError);
    expect(await gate.run('bob', async () => 'bob'), 'another identity is not held up').toBe('bob');
    blockers[1]?.resolve();
    await calls[1];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    for (const b of blockers) b.resolve();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3]);
    expect(gate.running('alice')).toBe(0);
  });

  it('gives the place back when a call fails', async () => {
    const gate = new IdentityGate(1, 0);
    await expect(gate.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('a', async () => 'next')).toBe('next');
  });
});
