import type pg from 'pg';
import { isUuid, IsolationViolationError } from '@tether/sessions';
import { ThreadNotFoundError } from './errors.js';

/** The shapes the HTTP and WebSocket contracts send. Times are ISO 8601 strings. */
export interface Thread {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
}

export interface Message {
  readonly id: string;
  readonly threadId: string;
  readonly content: string;
  readonly createdAt: string;
}

/**
 * Where statements run: a `Session` (several statements in one transaction) or a one-statement runner
 * (`SessionFactory.query`: each statement a whole session in one round trip). Both apply the caller's RLS.
 */
export interface StatementRunner {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

interface ThreadRow {
  id: string;
  title: string;
  created_at: Date;
}
interface MessageRow {
  id: string;
  thread_id: string;
  content: string;
  created_at: Date;
}

const thread = (r: ThreadRow): Thread => ({ id: r.id, title: r.title, createdAt: r.created_at.toISOString() });
const message = (r: MessageRow): Message => ({
  id: r.id,
  threadId: r.thread_id,
  content: r.content,
  createdAt: r.created_at.toISOString(),
});

/**
 * Threads and messages, read and written in the caller's request-scoped session: Row-Level Security decides
 * what exists, so these queries name no user and cannot reach another user's rows.
 */
export async function createThread(db: StatementRunner, title: string): Promise<Thread> {
  const { rows } = await db.query<ThreadRow>(
    'INSERT INTO threads (title) VALUES ($1) RETURNING id, title, created_at',
    [title],
  );
  return thread(rows[0] as ThreadRow);
}

export async function listThreads(db: StatementRunner): Promise<Thread[]> {
  const { rows } = await db.query<ThreadRow>('SELECT id, title, created_at FROM threads ORDER BY created_at, id');
  return rows.map(thread);
}

export async function getThread(db: StatementRunner, id: string): Promise<Thread> {
  if (!isUuid(id)) throw new ThreadNotFoundError('no such thread');
  const { rows } = await db.query<ThreadRow>('SELECT id, title, created_at FROM threads WHERE id = $1', [id]);
  if (!rows[0]) throw new ThreadNotFoundError('no such thread');
  return thread(rows[0]);
}

/**
 * Adds a message. With a client id, a retry of the same write returns the first row instead of a duplicate
 * (unique per user and client id).
 */
export async function postMessage(
  db: StatementRunner,
  threadId: string,
  content: string,
  clientMessageId?: string | null,
): Promise<Message> {
  if (!isUuid(threadId)) throw new ThreadNotFoundError('no such thread');
  try {
    if (!clientMessageId) {
      // one statement: the RLS check on insert (WITH CHECK … EXISTS thread) refuses a thread the user cannot see
      const { rows } = await db.query<MessageRow>(
        'INSERT INTO messages (thread_id, content) VALUES ($1, $2) RETURNING id, thread_id, content, created_at',
        [threadId, content],
      );
      return message(rows[0] as MessageRow);
    }
    // one statement: the new row, or the row an earlier attempt with this client id stored
    const { rows } = await db.query<MessageRow>(
      `WITH inserted AS (
         INSERT INTO messages (thread_id, content, client_message_id) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
         RETURNING id, thread_id, content, created_at)
       SELECT id, thread_id, content, created_at FROM inserted
       UNION ALL
       SELECT id, thread_id, content, created_at FROM messages
        WHERE client_message_id = $3 AND user_id = tether_current_user_id() AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [threadId, content, clientMessageId],
    );
    if (rows[0]) return message(rows[0]);
    // the earlier attempt committed while this statement waited on it: its row is newer than our snapshot
    const prior = await db.query<MessageRow>(
      `SELECT id, thread_id, content, created_at FROM messages
        WHERE client_message_id = $1 AND user_id = tether_current_user_id()`,
      [clientMessageId],
    );
    if (prior.rows[0]) return message(prior.rows[0]);
    throw new ThreadNotFoundError('no such thread');
  } catch (error) {
    // refused by Row-Level Security, or no such thread at all (foreign key): the same 404 either way
    if (error instanceof IsolationViolationError || (error as { code?: string }).code === '23503')
      throw new ThreadNotFoundError('no such thread', { cause: error });
    throw error;
  }
}

export async function listMessages(
  db: StatementRunner,
  threadId: string,
  options: { limit: number; after?: string | undefined },
): Promise<Message[]> {
  await getThread(db, threadId);
  const { rows } = options.after
    ? await db.query<MessageRow>(
        `SELECT id, thread_id, content, created_at FROM messages
          WHERE thread_id = $1 AND (created_at, id) > (SELECT created_at, id FROM messages WHERE id = $2)
          ORDER BY created_at, id LIMIT $3`,
        [threadId, options.after, options.limit],
      )
    : await db.query<MessageRow>(
        'SELECT id, thread_id, content, created_at FROM messages WHERE thread_id = $1 ORDER BY created_at, id LIMIT $2',
        [threadId, options.limit],
      );
  return rows.map(message);
}

export async function getMessage(db: StatementRunner, id: string): Promise<Message | null> {
  const { rows } = await db.query<MessageRow>('SELECT id, thread_id, content, created_at FROM messages WHERE id = $1', [
    id,
  ]);
  return rows[0] ? message(rows[0]) : null;
}
