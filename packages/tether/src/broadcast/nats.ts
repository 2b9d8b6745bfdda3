import { DeliverPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Broadcaster, BroadcastHandlers, BrokerOptions } from './broadcaster.js';
import { parseEvent, type BroadcastEvent } from './events.js';
import { wireForm } from './wire.js';

/** NATS' default largest payload is 1 MiB. */
const PAYLOAD_LIMIT = 1_000_000;
/** Within this window JetStream itself drops a republished event (same id), before any receiver sees it. */
const DUPLICATE_WINDOW_NS = 120_000_000_000;

/**
 * NATS JetStream: events are stored in a file-backed stream (they survive a server restart) and published with
 * their id as `Nats-Msg-Id`, so JetStream drops a republished copy. Each instance reads with an ordered consumer
 * that starts at the stream's end and, after a reconnect, resumes after the last sequence it saw.
 */
export class NatsBroadcaster implements Broadcaster {
  readonly kind = 'nats';
  private connection: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private tasks: Array<Promise<void>> = [];
  connected = false;

  constructor(private readonly options: BrokerOptions) {}

  private get subject(): string {
    return `${this.options.stream}.events`;
  }

  async start(handlers: BroadcastHandlers): Promise<void> {
    const nc = await connect({
      servers: this.options.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      name: 'tether',
    });
    this.connection = nc;
    const jsm = await jetstreamManager(nc);
    const config = {
      subjects: [this.subject],
      storage: StorageType.File,
      max_msgs: this.options.maxLength,
      duplicate_window: DUPLICATE_WINDOW_NS,
    };
    try {
      await jsm.streams.info(this.options.stream);
    } catch {
      await jsm.streams
        .add({ name: this.options.stream, ...config })
        .catch(async () => jsm.streams.info(this.options.stream)); // another instance made it meanwhile
    }
    this.js = jetstream(nc);
    const consumer = await this.js.consumers.get(this.options.stream, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    this.connected = true;
    this.tasks.push(
      (async () => {
        for await (const m of messages) {
          const event = parseEvent(m.string());
          if (event) handlers.onEvent(event);
        }
      })(),
      (async () => {
        let lostAt: number | null = null;
        for await (const status of nc.status()) {
          if (status.type === 'disconnect' && lostAt === null) {
            lostAt = Date.now();
            this.connected = false;
            this.options.logger.warn({}, 'lost the NATS connection; reconnecting');
          } else if (status.type === 'reconnect' && lostAt !== null) {
            const since = lostAt;
            lostAt = null;
            this.connected = true;
            this.options.logger.info({}, 'NATS connection back');
            handlers.onGap(since);
          }
        }
      })(),
    );
  }

  async publish(events: readonly BroadcastEvent[]): Promise<void> {
    const js = this.js;
    if (!js || this.connection?.isClosed()) throw new Error('NATS is not connected');
    await Promise.all(
      events.map((e) => js.publish(this.subject, wireForm(e, PAYLOAD_LIMIT), { msgID: e.id, timeout: 2_000 })),
    );
  }

  async close(): Promise<void> {
    this.connected = false;
    await this.connection?.close().catch(() => {});
    await Promise.allSettled(this.tasks);
  }
}
