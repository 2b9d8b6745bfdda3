import type { SessionLogger } from '@tether/sessions';
import type { BroadcastEvent } from './events.js';

/** What a broadcaster hands received events to. */
export interface BroadcastHandlers {
  /** Every event published by any instance (this one included), at least once. */
  onEvent(event: BroadcastEvent): void;
  /**
   * The subscription was interrupted and resumed: events published from shortly before `lostAt` may be missing
   * (a broker restarted without persistence, LISTEN's connection dropped). The receiver catches up from the
   * database.
   */
  onGap(lostAt: number): void;
}

/** The transaction of the outbox relay, for a broadcaster whose publishing belongs inside it (NOTIFY). */
export interface RelayTransaction {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/**
 * The port between instances. Publishing happens after commit, from the transactional outbox (`OutboxRelay`);
 * each instance subscribes once and fans events out to its own sockets.
 */
export interface Broadcaster {
  /** `postgres`, `redis` or `nats`: the metrics label and what the logs say. */
  readonly kind: 'postgres' | 'redis' | 'nats';
  /** Whether this instance currently receives events. */
  readonly connected: boolean;
  /** Subscribes; resolves once receiving, or keeps trying in the background if the first attempt fails. */
  start(handlers: BroadcastHandlers): Promise<void>;
  /**
   * Publishes events; resolves once the broker has them, rejects if it cannot take them (the relay keeps them in
   * the outbox and tries again). Called inside the relay's transaction, which commits only after this resolves.
   */
  publish(events: readonly BroadcastEvent[], within: RelayTransaction): Promise<void>;
  close(): Promise<void>;
}

/** What a broker adapter (Redis, NATS) is built from. */
export interface BrokerOptions {
  /** `redis://host:port` or `nats://host:port`. */
  readonly url: string;
  /** The Redis stream's key, or the JetStream stream's name (its subject is `<stream>.events`). */
  readonly stream: string;
  /** Events the stream keeps (older ones are trimmed): enough to bridge a reconnect. */
  readonly maxLength: number;
  readonly logger: SessionLogger;
}
