import type { SessionLogger } from '@tether/sessions';
import type { Broadcaster, BroadcastHandlers, RelayTransaction } from './broadcaster.js';
import { parseEvent, type BroadcastEvent } from './events.js';
import { NotificationListener } from './postgres-listener.js';
import { wireForm } from './wire.js';

export interface PostgresBroadcasterOptions {
  readonly connectionString: string;
  /** The NOTIFY channel. */
  readonly channel: string;
  readonly applicationName: string;
  readonly logger: SessionLogger;
}

/**
 * LISTEN/NOTIFY: no broker to run, the embedded default. NOTIFY is sent inside the outbox relay's transaction,
 * so it goes out exactly when the relay's commit removes the events from the outbox. Its limits: a NOTIFYing
 * commit takes a cluster-wide lock (such commits serialise), payloads stay under 8000 bytes, and what is
 * announced while a listener is disconnected is gone (the receiver then catches up from the database).
 */
export class PostgresBroadcaster implements Broadcaster {
  readonly kind = 'postgres';
  private listener: NotificationListener | null = null;

  constructor(private readonly options: PostgresBroadcasterOptions) {}

  get connected(): boolean {
    return this.listener?.connected ?? false;
  }

  async start(handlers: BroadcastHandlers): Promise<void> {
    const { connectionString, channel, applicationName, logger } = this.options;
    this.listener = new NotificationListener({
      connectionString,
      channels: [channel],
      applicationName,
      logger,
      onNotification: (_channel, payload) => {
        const event = parseEvent(payload);
        if (event) handlers.onEvent(event);
      },
      onReconnect: (lostAt) => handlers.onGap(lostAt),
    });
    await this.listener.start();
  }

  async publish(events: readonly BroadcastEvent[], within: RelayTransaction): Promise<void> {
    await within.query('SELECT pg_notify($1, e) FROM unnest($2::text[]) AS e', [
      this.options.channel,
      events.map((e) => wireForm(e, NOTIFY_LIMIT)),
    ]);
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}

/** NOTIFY refuses payloads of 8000 bytes and more; leave room. */
const NOTIFY_LIMIT = 7_900;
