import type pg from 'pg';
import type { SessionLogger } from '@tether/sessions';
import type { Broadcaster } from './broadcaster.js';
import { broadcastEventSchema, type BroadcastEvent } from './events.js';
import { instanceConnection } from './postgres-listener.js';

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
 * Not request work, so not a session: one dedicated connection, opened when needed and again after a loss. Not
 * pg's Pool: it takes its error listener off a new connection before handing it out, so a FATAL that arrives in
 * the same read as the connection's first ReadyForQuery (a server dying just then) had no listener and ended the
 * process.
 */
export class OutboxRelay {
  private client: pg.Client | null = null;
  /** Set by the connection's 'error' listener: the connection is gone and is not used again. */
  private broken = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private closed = false;
  /** Events published since start (the metrics read it). */
  published = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

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

  /** The relay's connection: the open one, or a new one (its error listener attached before it connects). */
  private async connection(): Promise<pg.Client> {
    if (this.client && !this.broken) return this.client;
    void this.drop();
    const client = instanceConnection(this.options.connectionString, this.options.applicationName);
    this.client = client;
    this.broken = false;
    client.on('error', () => {
      if (this.client === client) this.broken = true;
    });
    try {
      await client.connect();
    } catch (error) {
      void this.drop();
      throw error;
    }
    return client;
  }

  /** Closes the connection (if any); the next batch opens another. */
  private drop(): Promise<void> {
    const client = this.client;
    this.client = null;
    return client ? client.end().catch(() => {}) : Promise.resolve();
  }

  private async publishBatch(): Promise<number> {
    const client = await this.connection();
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
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      if (!rolledBack) void this.drop();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    await this.drop();
  }
}
