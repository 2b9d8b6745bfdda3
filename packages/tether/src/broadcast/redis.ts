import { Redis } from 'ioredis';
import type { Broadcaster, BroadcastHandlers, BrokerOptions } from './broadcaster.js';
import { parseEvent, type BroadcastEvent } from './events.js';
import { wireForm } from './wire.js';

/** How long one blocking read waits before asking again (also bounds how late `close` is noticed). */
const BLOCK_MS = 2_000;
const BATCH = 1_000;
/** Redis takes any payload size; stay well under a sane frame. */
const ENTRY_LIMIT = 1_048_576;

type StreamReply = Array<[key: string, entries: Array<[id: string, fields: string[]]>]> | null;

/**
 * Redis Streams: one stream for all events. Publishing is `XADD` (trimmed to about `maxLength` entries); each
 * instance reads with `XREAD BLOCK` from the last id it saw, so a reconnect resumes where it stopped. A Redis that
 * restarted without persistence has lost what it held: the receiver is told of the gap and catches up from the
 * database.
 */
export class RedisBroadcaster implements Broadcaster {
  readonly kind = 'redis';
  private readonly publisher: Redis;
  private readonly reader: Redis;
  private closed = false;
  private reading: Promise<void> = Promise.resolve();
  private lastId = '0-0';
  private lostAt: number | null = null;
  connected = false;

  constructor(private readonly options: BrokerOptions) {
    // commands fail at once while disconnected (no offline queue): the relay keeps events in the outbox, the
    // reader retries; both notice the outage instead of waiting in a queue
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (n: number) => Math.min(2_000, 50 * 2 ** n),
    };
    this.publisher = new Redis(options.url, { ...common, connectionName: 'tether-publisher' });
    this.reader = new Redis(options.url, { ...common, connectionName: 'tether-reader' });
    // a client's errors are reported by the commands that fail
    for (const client of [this.publisher, this.reader]) client.on('error', () => {});
  }

  async start(handlers: BroadcastHandlers): Promise<void> {
    await Promise.all([this.publisher.connect(), this.reader.connect()]).catch((error: unknown) => {
      this.options.logger.warn(
        { error: (error as Error).message },
        'Redis is not reachable; retrying in the background',
      );
    });
    // start from the stream's end: earlier events are history the database already holds
    try {
      const last = (await this.reader.xrevrange(this.options.stream, '+', '-', 'COUNT', 1)) as Array<
        [string, string[]]
      >;
      this.lastId = last[0]?.[0] ?? '0-0';
      this.connected = true;
    } catch {
      this.lostAt = Date.now();
    }
    this.reading = this.readLoop(handlers);
  }

  private async readLoop(handlers: BroadcastHandlers): Promise<void> {
    while (!this.closed) {
      let reply: StreamReply;
      try {
        reply = (await this.reader.xread(
          'COUNT',
          BATCH,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.options.stream,
          this.lastId,
        )) as StreamReply;
      } catch (error) {
        if (this.closed) return;
        if (this.lostAt === null) {
          this.lostAt = Date.now();
          this.connected = false;
          this.options.logger.warn({ error: (error as Error).message }, 'lost the Redis stream; reconnecting');
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (this.lostAt !== null) {
        const lostAt = this.lostAt;
        this.lostAt = null;
        this.connected = true;
        this.options.logger.info({}, 'reading the Redis stream again');
        handlers.onGap(lostAt);
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          this.lastId = id;
          const event = parseEvent(fields[1] ?? '');
          if (event) handlers.onEvent(event);
        }
      }
    }
  }

  async publish(events: readonly BroadcastEvent[]): Promise<void> {
    const pipeline = this.publisher.pipeline();
    for (const event of events)
      pipeline.xadd(this.options.stream, 'MAXLEN', '~', this.options.maxLength, '*', 'e', wireForm(event, ENTRY_LIMIT));
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis did not answer');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reader.disconnect();
    this.publisher.disconnect();
    await this.reading;
  }
}
