import pg from 'pg';
import type { SessionLogger } from '@tether/sessions';

export interface NotificationListenerOptions {
  readonly connectionString: string;
  readonly channels: readonly string[];
  /** The connection's `application_name`: other instances read it to tell which instances are alive. */
  readonly applicationName: string;
  readonly onNotification: (channel: string, payload: string) => void;
  /** Called after the connection came back, with when it was lost: notifications sent meanwhile were missed. */
  readonly onReconnect?: (lostAt: number) => void;
  readonly logger: SessionLogger;
}

/**
 * A connection an instance holds for itself beside its sessions (LISTEN, the outbox relay), named after the
 * instance. Its 'error' listener is the caller's to attach before it connects.
 */
export function instanceConnection(connectionString: string, applicationName: string): pg.Client {
  return new pg.Client({
    connectionString,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
  });
}

/**
 * One dedicated connection that LISTENs for what other instances (and this one) announce: new messages and
 * revoked login sessions. Not request work, so it is not a session; when the database goes away it reconnects
 * by itself, with backoff, for as long as the server runs.
 */
export class NotificationListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private everConnected = false;
  /** When the connection was last lost (epoch ms); null while connected. */
  private lostAt: number | null = null;
  connected = false;

  constructor(private readonly options: NotificationListenerOptions) {}

  /** Resolves once listening; if the first attempt fails, keeps trying in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = instanceConnection(this.options.connectionString, this.options.applicationName);
    this.client = client;
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      this.connected = false;
      this.lostAt ??= Date.now();
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (this.closed) return;
      this.options.logger.warn(
        { error: error?.message ?? 'connection ended' },
        'notification listener lost its database connection; reconnecting',
      );
      this.schedule();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (n) => {
      if (n.payload !== undefined) this.options.onNotification(n.channel, n.payload);
    });
    try {
      await client.connect();
      await client.query(this.options.channels.map((c) => `LISTEN ${pg.escapeIdentifier(c)}`).join('; '));
      this.connected = true;
      this.attempt = 0;
      if (this.everConnected) {
        this.options.logger.info({}, 'notification listener reconnected');
        this.options.onReconnect?.(this.lostAt ?? Date.now());
      }
      this.lostAt = null;
      this.everConnected = true;
    } catch (error) {
      onLost(error as Error);
    }
  }

  private schedule(): void {
    clearTimeout(this.retryTimer);
    const delay = Math.min(5_000, 100 * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => {});
  }
}
