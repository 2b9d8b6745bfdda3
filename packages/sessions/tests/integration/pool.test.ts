import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, eventually, failureOf, type ScratchDatabase } from '@tether/testing';
// the pool is internal to the session layer (SessionFactory owns it); its contract is tested here on a real server
import { PoolExhaustedError, SessionClosedError } from '@tether/sessions';
import { Pool, type PoolOptions } from '../../src/pool.js';

let db: ScratchDatabase;
const pools: Pool[] = [];
beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db.drop();
});

function pool(options: Partial<PoolOptions> = {}): Pool {
  const p = new Pool({
    client: { connectionString: db.url },
    max: 2,
    acquireTimeoutMs: 2_000,
    idleTimeoutMs: 0,
    ...options,
  });
  pools.push(p);
  return p;
}

const pidOf = async (client: pg.Client): Promise<number> =>
  (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('the connection pool', () => {
  it('lends the most recently returned connection first and counts open, idle and waiting ones', async () => {
    const p = pool();
    const a = await p.connect();
    const b = await p.connect();
    expect([p.totalCount, p.idleCount, p.waitingCount]).toEqual([2, 0, 0]);
    const pidB = await pidOf(b);
    a.release();
    b.release();
    expect([p.totalCount, p.idleCount]).toEqual([2, 2]);
    const again = await p.connect();
    expect(await pidOf(again)).toBe(pidB);
    expect(() => {
      again.release();
      again.release();
    }).toThrow(/already been released/);
  });

  it('makes a caller wait while all connections are lent, serves waiters in arrival order, and times out', async () => {
    const p = pool({ max: 1, acquireTimeoutMs: 400 });
    const held = await p.connect();
    const order: string[] = [];
    const first = p.connect().then((c) => (order.push('first'), c));
    const second = p.connect().then((c) => (order.push('second'), c));
    expect(p.waitingCount).toBe(2);
    held.release();
    (await first).release();
    (await second).release();
    expect(order).toEqual(['first', 'second']);

    const blocker = await p.connect();
    const started = performance.now();
    const timedOut = await failureOf(p.connect());
    const waited = performance.now() - started;
    expect(timedOut).toBeInstanceOf(PoolExhaustedError);
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(600);
    expect(p.waitingCount).toBe(0);
    blocker.release();
    (await p.connect()).release(); // still serves
  });

  it('closes a connection given back with an error, and hands its place to a waiter as a new connection', async () => {
    const p = pool({ max: 1 });
    const removed: unknown[] = [];
    p.on('remove', (c) => removed.push(c));
    const a = await p.connect();
    const pidA = await pidOf(a);
    const waiter = p.connect();
    a.release(new Error('left dirty'));
    const b = await waiter;
    expect(await pidOf(b)).not.toBe(pidA);
    expect(removed).toEqual([a]);
    expect(p.totalCount).toBe(1);
    b.release();
  });

  it('removes an idle connection whose backend was killed, and lends a working one next', async () => {
    const p = pool({ max: 1 });
    const errors: Error[] = [];
    p.on('error', (e: Error) => errors.push(e));
    const a = await p.connect();
    const pidA = await pidOf(a);
    a.release();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend($1)', [pidA]);
    await admin.end();
    expect(await eventually(() => p.idleCount === 0, 3_000)).toBe(true);
    expect(errors).toHaveLength(1);
    const b = await p.connect();
    expect(await pidOf(b)).not.toBe(pidA);
    b.release();
  });

  it('closes connections idle longer than idleTimeoutMs from one housekeeping timer', async () => {
    const p = pool({ idleTimeoutMs: 200 });
    const a = await p.connect();
    a.release();
    expect(p.totalCount).toBe(1);
    expect(await eventually(() => p.totalCount === 0, 3_000)).toBe(true);
  });

  it('ends: waiters fail, idle connections close at once, a lent one when it comes back', async () => {
    const p = pool({ max: 1 });
    const lent = await p.connect();
    const waiting = failureOf(p.connect());
    let ended = false;
    const end = p.end().then(() => (ended = true));
    expect(await waiting).toBeInstanceOf(SessionClosedError);
    expect(await failureOf(p.connect())).toBeInstanceOf(SessionClosedError);
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(false);
    lent.release();
    await end;
    expect(p.totalCount).toBe(0);
  });

  it('serves waiters round-robin by identity: one waiting session of bob is not behind 20 of alice', async () => {
    const p = pool({ max: 1 });
    const held = await p.connect();
    const served: string[] = [];
    const wait = (key: string): Promise<void> =>
      p.connect(key).then((client) => {
        served.push(key);
        client.release();
      });
    const waits = [...Array.from({ length: 20 }, () => wait('alice')), wait('bob')];
    expect(p.waitingCount).toBe(21);
    held.release();
    await Promise.all(waits);
    expect(served.indexOf('bob'), `order served: ${served.join(',')}`).toBe(1);
    expect(served.filter((k) => k === 'alice')).toHaveLength(20);
  });

  it('a waiter that timed out leaves the queue and the others are still served', async () => {
    const p = pool({ max: 1, acquireTimeoutMs: 100 });
    const held = await p.connect();
    const gaveUp = failureOf(p.connect('alice'));
    expect((await gaveUp).message).toMatch(/acquire timeout/);
    const next = p.connect('bob');
    expect(p.waitingCount).toBe(1);
    held.release();
    (await next).release();
    expect(p.waitingCount).toBe(0);
  });
});
