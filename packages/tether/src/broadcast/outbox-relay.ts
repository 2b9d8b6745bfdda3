import pg from 'pg';
import type { SessionLogger } from '@tether/sessions';
import type { Broadcaster } from './broadcaster.js';
import { broadcastEventSchema, type BroadcastEvent } from './events.js';

export interface OutboxRelayOptions {
  readonly connectionString: string;
  /** The connection's `application_name` (other instances read it to tell which instances are alive). */
  readonly applicationName: string;
  readonly broadcaster: Broadcaster;
  /** How often the outbox is looked at without a kick: events of other instances that died, a broker back. */
  readonly intervalMs: number;
  readonly batchSize: number;
  readonly logger: SessionLogger;
}

/**
 * Publishes what the transactional outbox holds. Writers' transactions add events to `broadcast_outbox`
 * (triggers, in the same commit as the message, membership change or revocation); the relay takes a batch with
 * `FOR UPDATE SKIP LOCKED` (so the relays of several instances share the work), publishes it and deletes it in
 * one transaction. A crash before that commit, or a broker that refuses the batch, leaves the events in the
 * outbox for the next attempt, by this instance or any other: at least once, never lost. Receivers drop
 * repeats by event id.
 *
 * Not request work, so not a session: one dedicated connection (a pool of one, which reconnects by itself).
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private closed = false;
  /** Events published since start (the metrics read it). */
  published = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      application_name: options.applicationName,
      max: 1,
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    this.pool.on('error', () => {}); // a lost idle connection: the next drain connects again
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Something was just committed here: publish it now rather than at the next interval. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Publishes batches until the outbox is empty (or publishing fails: then the next interval tries again). */
  private async drain(): Promise<void> {
    try {
      while (!this.closed && (await this.publishBatch()) === this.options.batchSize);
      if (this.failing) this.options.logger.info({}, 'outbox relay publishing again');
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.options.logger.warn(
          { error: (error as Error).message, broadcaster: this.options.broadcaster.kind },
          'outbox relay cannot publish; events stay in the outbox',
        );
      this.failing = true;
    }
  }

  private async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // pg's pool listens for errors on idle clients only: a backend lost while this one is lent (between statements,
    // or while the broker is slow) must not become an unhandled 'error' event that ends the process
    const onLost = (error: Error): void => {
      broken = error;
    };
    client.on('error', onLost);
    try {
      // BEGIN and the DELETE in one round trip (a simple query of two statements; the batch size is an integer
      // from the configuration): one round trip less between a commit and its delivery
      const results = (await client.query(
        `BEGIN;
         DELETE FROM broadcast_outbox
          WHERE seq IN (SELECT seq FROM broadcast_outbox ORDER BY seq LIMIT ${Math.trunc(this.options.batchSize)}
                        FOR UPDATE SKIP LOCKED)
          RETURNING seq, event`,
      )) as unknown as Array<pg.QueryResult<{ seq: string; event: unknown }>>;
      const rows = results[1]?.rows ?? [];
      rows.sort((x, y) => Number(x.seq) - Number(y.seq));
      const events: BroadcastEvent[] = [];
      for (const row of rows) {
        const parsed = broadcastEventSchema.safeParse(row.event);
        if (parsed.success) events.push(parsed.data);
        else this.options.logger.error({ seq: row.seq }, 'outbox held an event of unknown shape; dropped');
      }
      if (events.length > 0) await this.options.broadcaster.publish(events, client);
      await client.query('COMMIT');
      this.published += events.length;
      return rows.length;
    } catch (error) {
      // a broker that refused the batch leaves the connection fine; one that cannot roll back is dropped
      if (
        !(await client.query('ROLLBACK').then(
          () => true,
          () => false,
        ))
      )
        broken = error as Error;
      throw error;
    } finally {
      client.off('error', onLost);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    await this.pool.end();
  }
}
