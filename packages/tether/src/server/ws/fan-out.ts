import type { SessionFactory, SessionLogger } from '@tether/sessions';
import type { MessageEvent } from '../../broadcast/index.js';
import { getMessage, type Message } from '../../threads/index.js';
import type { ServerMetrics } from '../metrics.js';
import { addTo, removeFrom, sendFrame, type Connection } from './connections.js';

/** Messages written this long before events stopped arriving are delivered again (and deduplicated). */
const CATCH_UP_MARGIN_MS = 5_000;
/** Recently delivered message ids remembered to keep a catch-up from sending one twice. */
const DELIVERED_MEMORY = 20_000;

export interface FanOutOptions {
  readonly factory: SessionFactory;
  readonly metrics: ServerMetrics;
  readonly logger: SessionLogger;
}

/**
 * Who is subscribed to which thread on this instance, and delivery to them: new messages announced by the
 * broadcaster (`deliver`), and after an interruption, the ones missed meanwhile (`catchUp`), each at most once.
 */
export class FanOut {
  private readonly byThread = new Map<string, Set<Connection>>();
  private readonly delivered = new Set<string>();

  constructor(private readonly options: FanOutOptions) {}

  subscribe(connection: Connection, threadId: string): void {
    connection.subscriptions.add(threadId);
    addTo(this.byThread, threadId, connection);
  }

  unsubscribe(connection: Connection, threadId: string): void {
    connection.subscriptions.delete(threadId);
    removeFrom(this.byThread, threadId, connection);
  }

  /** A closed socket: all its subscriptions end. */
  drop(connection: Connection): void {
    for (const threadId of connection.subscriptions) removeFrom(this.byThread, threadId, connection);
  }

  subscriptionCount(): number {
    let subscriptions = 0;
    for (const set of this.byThread.values()) subscriptions += set.size;
    return subscriptions;
  }

  /** The connections of `userId` subscribed to `threadId`. */
  subscribersOf(threadId: string, userId: string): Connection[] {
    return [...(this.byThread.get(threadId) ?? [])].filter((c) => c.principal.userId === userId);
  }

  /** Every (thread, user) with a subscription here: what a membership re-check asks about. */
  subscribedMembers(): Array<{ threadId: string; userId: string }> {
    return [...this.byThread].flatMap(([threadId, set]) =>
      [...new Set([...set].map((c) => c.principal.userId))].map((userId) => ({ threadId, userId })),
    );
  }

  /** A message event: deliver the message to this instance's subscribers of its thread (once per socket). */
  async deliver(note: MessageEvent): Promise<void> {
    if (!this.firstDelivery(note.id)) return;
    if (!this.byThread.get(note.threadId)?.size) return;
    let message: Message | null;
    if (typeof note.content === 'string') {
      message = {
        id: note.id,
        threadId: note.threadId,
        content: note.content,
        createdAt: new Date(note.createdAt).toISOString(),
      };
    } else {
      // too large for a notification: read it as its author (RLS)
      message = await this.options.factory
        .withSession({ userId: note.userId, threadId: note.threadId }, (s) => getMessage(s, note.id))
        .catch(() => null);
      if (!message) return;
    }
    this.broadcast(message);
  }

  /**
   * After the LISTEN connection was lost and came back: delivers, from the database, the messages of subscribed
   * threads written since shortly before the loss. Messages already delivered are not sent twice.
   */
  async catchUp(lostAt: number): Promise<void> {
    const threadIds = [...this.byThread.keys()];
    if (threadIds.length === 0) return;
    const since = new Date(lostAt - CATCH_UP_MARGIN_MS);
    let rows: Array<{ id: string; thread_id: string; content: string; created_at: Date }>;
    try {
      // the hub delivers to subscribers it authorised at subscribe time; reading across their threads is its job
      ({ rows } = await this.options.factory.query<{
        id: string;
        thread_id: string;
        content: string;
        created_at: Date;
      }>(
        { userId: 'service:websocket-hub' },
        `SELECT id, thread_id, content, created_at FROM messages
          WHERE thread_id = ANY($1::uuid[]) AND created_at >= $2
          ORDER BY created_at, id LIMIT 10000`,
        [threadIds, since],
      ));
    } catch (error) {
      this.options.logger.warn(
        { error: (error as Error).message },
        'could not deliver the messages missed while events were not received',
      );
      return;
    }
    for (const row of rows) {
      if (!this.firstDelivery(row.id)) continue;
      this.broadcast({
        id: row.id,
        threadId: row.thread_id,
        content: row.content,
        createdAt: row.created_at.toISOString(),
      });
    }
  }

  /** One `message` frame to every open subscriber of the message's thread. */
  private broadcast(message: Message): void {
    const frame = { type: 'message', message };
    for (const connection of this.byThread.get(message.threadId) ?? []) {
      if (connection.ws.readyState !== connection.ws.OPEN) continue;
      sendFrame(connection.ws, frame);
      this.options.metrics.wsBroadcasts.inc();
    }
  }

  /** Whether a message id is seen for the first time (recent ids only: enough to bridge a catch-up). */
  private firstDelivery(id: string): boolean {
    if (this.delivered.has(id)) return false;
    this.delivered.add(id);
    if (this.delivered.size > DELIVERED_MEMORY) {
      for (const old of this.delivered) {
        this.delivered.delete(old);
        if (this.delivered.size <= DELIVERED_MEMORY / 2) break;
      }
    }
    return true;
  }
}
