import { EventEmitter } from 'node:events';
import pg from 'pg';
import { PoolExhaustedError, SessionClosedError } from './errors.js';
import { FairQueue } from './fair-queue.js';

export interface PoolOptions {
  /** How each connection is opened (pg's client options). */
  readonly client: pg.ClientConfig;
  /** Most connections open (or being opened) at once. */
  readonly max: number;
  /** Longest wait for a connection when all `max` are checked out; then `PoolExhaustedError`. */
  readonly acquireTimeoutMs: number;
  /** An idle connection is closed after this long (0: never). Checked by one housekeeping timer, not per release. */
  readonly idleTimeoutMs: number;
}

/** A pg client as the pool lends it: given back with `release()`, or destroyed with `release(error)`. */
export type PooledClient = pg.Client & { release(destroy?: Error | boolean): void };

interface Waiter {
  readonly key: string;
  readonly resolve: (client: PooledClient) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Per-connection facts the pool keeps beside the client. */
interface Slot {
  readonly client: PooledClient;
  /** When it last became idle (epoch ms). */
  idleSince: number;
  checkedOut: boolean;
  /** It emitted an error (its connection is gone): destroyed when it comes back, never lent again. */
  broken: boolean;
}

/**
 * The connection pool under `SessionFactory`, in the manner of HikariCP: idle connections on a LIFO stack (the
 * most recently used, warmest one goes out first), waiters served round-robin by identity (in arrival order within
 * one: a user with 200 waiting sessions does not stand in front of a user with one), and nothing on the hot path
 * but a pop and a push — no timer per checkout or release (pg-pool sets one per release, and one per checkout
 * when an acquire timeout is configured): the acquire timeout exists only while someone actually waits, and idle
 * connections are closed by one housekeeping timer.
 *
 * Events, as pg-pool's: `connect` (a new connection is open), `remove` (a connection was closed), `error` (an
 * idle connection failed; it has been removed).
 */
export class Pool extends EventEmitter {
  private readonly idle: Slot[] = [];
  private readonly waiters = new FairQueue<Waiter>();
  private readonly slots = new Map<pg.Client, Slot>();
  /** Connections open or being opened. */
  private total = 0;
  private ending = false;
  private ended: (() => void) | null = null;
  private readonly housekeeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: PoolOptions) {
    super();
    if (options.idleTimeoutMs > 0) {
      this.housekeeper = setInterval(
        () => this.closeIdle(),
        Math.min(30_000, Math.max(1_000, options.idleTimeoutMs / 2)),
      );
      this.housekeeper.unref();
    }
  }

  get totalCount(): number {
    return this.total;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get waitingCount(): number {
    return this.waiters.size;
  }

  /** An idle connection, checked out, if there is one (no promise: the session factory's hot path). */
  acquireIdle(): PooledClient | undefined {
    if (this.ending) return undefined;
    const slot = this.idle.pop();
    if (slot === undefined) return undefined;
    slot.checkedOut = true;
    return slot.client;
  }

  /**
   * A connection: an idle one at once, a new one while fewer than `max` are open, or one given back later, when
   * it is `waiterKey`'s turn (waiters are served round-robin by key; the session factory passes the identity).
   */
  connect(waiterKey = ''): Promise<PooledClient> {
    if (this.ending) return Promise.reject(poolClosed());
    const idle = this.acquireIdle();
    if (idle) {
      return Promise.resolve(idle);
    }
    if (this.total < this.options.max) return this.open();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { key: waiterKey, resolve, reject, timer: undefined };
      if (this.options.acquireTimeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          this.waiters.remove(waiter.key, waiter);
          reject(new PoolExhaustedError('no connection became free within the acquire timeout; all are busy'));
        }, this.options.acquireTimeoutMs);
        waiter.timer.unref();
      }
      this.waiters.push(waiterKey, waiter);
    });
  }

  /** One statement on a connection of its own (the health check); a failed connection is closed, not reused. */
  async query(text: string): Promise<pg.QueryResult> {
    const client = await this.connect();
    try {
      const result = await client.query(text);
      client.release();
      return result;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }

  /** Stops lending: waiters fail, idle connections close, lent ones close when they come back. */
  end(): Promise<void> {
    this.ending = true;
    if (this.housekeeper) clearInterval(this.housekeeper);
    for (const waiter of this.waiters.drain()) {
      clearTimeout(waiter.timer);
      waiter.reject(poolClosed());
    }
    for (const slot of this.idle.splice(0)) this.destroy(slot);
    if (this.total === 0) return Promise.resolve();
    return new Promise((resolve) => (this.ended = resolve));
  }

  private open(): Promise<PooledClient> {
    this.total++;
    const client = new pg.Client(this.options.client) as PooledClient;
    const slot: Slot = { client, idleSince: 0, checkedOut: true, broken: false };
    this.slots.set(client, slot);
    // always listened to: an 'error' event without a listener would crash the process
    client.on('error', (error: Error) => this.failed(slot, error));
    client.release = (destroy?: Error | boolean) => this.release(slot, destroy);
    return client.connect().then(
      () => {
        if (this.ending) {
          this.destroy(slot);
          throw poolClosed();
        }
        this.emit('connect', client);
        return client;
      },
      (error: unknown) => {
        this.destroy(slot);
        throw error;
      },
    );
  }

  private release(slot: Slot, destroy: Error | boolean | undefined): void {
    if (!slot.checkedOut) throw new Error('Release called on client which has already been released to the pool.');
    slot.checkedOut = false;
    if (destroy || slot.broken || this.ending) {
      this.destroy(slot);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      slot.checkedOut = true;
      waiter.resolve(slot.client);
      return;
    }
    slot.idleSince = Date.now();
    this.idle.push(slot);
  }

  /** Closes a connection and frees its place; a waiter then gets a new connection. */
  private destroy(slot: Slot): void {
    if (!this.slots.delete(slot.client)) return;
    this.total--;
    const at = this.idle.indexOf(slot);
    if (at >= 0) this.idle.splice(at, 1);
    slot.client.end().catch(() => {});
    this.emit('remove', slot.client);
    if (this.ending) {
      if (this.total === 0) this.ended?.();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      this.open().then(waiter.resolve, waiter.reject);
    }
  }

  private failed(slot: Slot, error: Error): void {
    slot.broken = true;
    if (slot.checkedOut) return; // its session sees the failure and gives it back
    this.destroy(slot);
    if (this.listenerCount('error') > 0) this.emit('error', error, slot.client);
  }

  /** The housekeeping timer's job: close connections idle longer than `idleTimeoutMs` (the oldest are at the bottom).
   * */
  private closeIdle(): void {
    const before = Date.now() - this.options.idleTimeoutMs;
    while (this.idle.length > 0 && (this.idle[0] as Slot).idleSince <= before) this.destroy(this.idle[0] as Slot);
  }
}

const poolClosed = (): SessionClosedError => new SessionClosedError('the connection pool has been closed');

/**
 * Ends a backend from a separate connection: a pipelined pg client waits for its running statements before
 * it disconnects, so destroying the connection alone would leave the statement running on the server.
 */
export async function terminateBackend(
  connectionString: string | undefined,
  pid: number | null | undefined,
): Promise<void> {
  if (!pid || !connectionString) return;
  const killer = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
  killer.on('error', () => {});
  try {
    await killer.connect();
    await killer.query('SELECT pg_terminate_backend($1)', [pid]);
  } catch {
    // the server ends the backend itself once it notices the closed connection
  } finally {
    await killer.end().catch(() => {});
  }
}

/** The pool a `SessionFactory` opens for itself, from its options. */
export function sessionPool(
  connectionString: string,
  o: Pick<PoolOptions, 'max' | 'acquireTimeoutMs' | 'idleTimeoutMs'> & {
    readonly applicationName: string;
    readonly appRole: string;
    readonly statementTimeoutMs: number;
    readonly idleInTransactionTimeoutMs: number;
    readonly pooler: 'none' | 'transaction';
  },
): Pool {
  return new Pool({
    max: o.max,
    acquireTimeoutMs: o.acquireTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    client: {
      connectionString,
      connectionTimeoutMillis: o.acquireTimeoutMs,
      application_name: o.applicationName,
      // connection defaults: anonymous work runs unprivileged and bounded without a round trip of its own (a
      // transaction-mode pooler refuses these startup parameters: there, every session's context sets them)
      ...(o.pooler === 'transaction'
        ? {}
        : {
            options: `-c role=${o.appRole}`,
            statement_timeout: o.statementTimeoutMs || undefined,
            idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs || undefined,
          }),
      pipeline: true,
    } as pg.ClientConfig,
  });
}
