/**
 * How instances tell each other what happened: the `Broadcaster` port, its three adapters, and the outbox relay
 * that publishes after commit. `TETHER_BROADCAST_URL` picks the adapter.
 */
import type { SessionLogger } from '@tether/sessions';
import type { Broadcaster } from './broadcaster.js';
import { NatsBroadcaster } from './nats.js';
import { PostgresBroadcaster } from './postgres.js';
import { RedisBroadcaster } from './redis.js';

export type { Broadcaster, BroadcastHandlers, BrokerOptions, RelayTransaction } from './broadcaster.js';
export { broadcastEventSchema, parseEvent, type BroadcastEvent, type MessageEvent } from './events.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export { NatsBroadcaster, PostgresBroadcaster, RedisBroadcaster };

export interface BroadcasterSettings {
  /** Unset: PostgreSQL LISTEN/NOTIFY; `redis://…`: Redis Streams; `nats://…`: NATS JetStream. */
  readonly url?: string | undefined;
  /** The NOTIFY channel, Redis stream key or JetStream stream name. */
  readonly channel: string;
  /** Events a broker's stream keeps. */
  readonly retainEvents: number;
}

/** The adapter `settings.url` names; `databaseUrl` carries LISTEN/NOTIFY when no broker is named. */
export function createBroadcaster(
  settings: BroadcasterSettings,
  database: { url: string; applicationName: string },
  logger: SessionLogger,
): Broadcaster {
  const url = settings.url;
  if (url?.startsWith('redis://') || url?.startsWith('rediss://')) {
    return new RedisBroadcaster({ url, stream: settings.channel, maxLength: settings.retainEvents, logger });
  }
  if (url?.startsWith('nats://'))
    return new NatsBroadcaster({ url, stream: settings.channel, maxLength: settings.retainEvents, logger });
  return new PostgresBroadcaster({
    connectionString: database.url,
    channel: settings.channel,
    applicationName: database.applicationName,
    logger,
  });
}
