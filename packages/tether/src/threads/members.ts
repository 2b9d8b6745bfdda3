import { isUuid } from '@tether/sessions';
import {
  AlreadyMemberError,
  CreatorIsPermanentMemberError,
  MemberNotFoundError,
  MemberRemovalForbiddenError,
  ThreadNotFoundError,
  UserNotFoundError,
} from './errors.js';
import type { StatementRunner } from './store.js';

/** `POST /threads/:id/members` answers this. */
export interface AddedMember {
  readonly threadId: string;
  readonly userId: string;
  readonly email: string;
}

/** One entry of `GET /threads/:id/members`. */
export interface ThreadMember {
  readonly userId: string;
  readonly email: string;
  readonly addedAt: string;
}

/**
 * Adds the user registered under `email` to a thread the caller is a member of. One statement: Row-Level
 * Security refuses the insert unless the caller is a member, so the checks below only name what went wrong.
 */
export async function addMember(db: StatementRunner, threadId: string, email: string): Promise<AddedMember> {
  if (!isUuid(threadId)) throw new ThreadNotFoundError('no such thread');
  const { rows } = await db.query<{ visible: boolean; user_id: string | null; email: string | null; added: boolean }>(
    `WITH visible AS (SELECT $1::uuid IN (SELECT tether_member_thread_ids()) AS ok),
          target AS (SELECT id, email FROM tether_user_by_email($2)),
          inserted AS (
            INSERT INTO thread_members (thread_id, user_id)
            SELECT $1::uuid, target.id FROM target, visible WHERE visible.ok
            ON CONFLICT (thread_id, user_id) DO NOTHING
            RETURNING user_id)
     SELECT (SELECT ok FROM visible) AS visible,
            (SELECT id FROM target) AS user_id,
            (SELECT email FROM target) AS email,
            EXISTS (SELECT 1 FROM inserted) AS added`,
    [threadId, email],
  );
  const row = rows[0];
  if (!row?.visible) throw new ThreadNotFoundError('no such thread');
  if (!row.user_id || !row.email) throw new UserNotFoundError('no user is registered with that email');
  if (!row.added) throw new AlreadyMemberError('that user is a member of the thread already');
  return { threadId, userId: row.user_id, email: row.email };
}

/** The members of a thread the caller is a member of, in the order they joined (the creator first). */
export async function listMembers(db: StatementRunner, threadId: string): Promise<ThreadMember[]> {
  if (!isUuid(threadId)) throw new ThreadNotFoundError('no such thread');
  const { rows } = await db.query<{ user_id: string; email: string; added_at: Date }>(
    'SELECT user_id, email, added_at FROM thread_member_list WHERE thread_id = $1 ORDER BY added_at, user_id',
    [threadId],
  );
  // a thread the caller can see has at least one member (its creator): nothing means not visible
  if (rows.length === 0) throw new ThreadNotFoundError('no such thread');
  return rows.map((r) => ({ userId: r.user_id, email: r.email, addedAt: r.added_at.toISOString() }));
}

/**
 * Removes a member: the caller themself, or anyone when the caller created the thread (never the creator).
 * One statement; Row-Level Security decides, the other columns say why nothing was removed.
 */
export async function removeMember(db: StatementRunner, threadId: string, userId: string): Promise<void> {
  if (!isUuid(threadId)) throw new ThreadNotFoundError('no such thread');
  if (!isUuid(userId)) throw new MemberNotFoundError('no such member');
  const { rows } = await db.query<{ visible: boolean; member: boolean; creator: boolean; removed: boolean }>(
    `WITH removed AS (DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2 RETURNING 1)
     SELECT $1::uuid IN (SELECT tether_member_thread_ids()) AS visible,
            EXISTS (SELECT 1 FROM thread_members WHERE thread_id = $1 AND user_id = $2) AS member,
            EXISTS (SELECT 1 FROM threads WHERE id = $1 AND user_id = $2) AS creator,
            EXISTS (SELECT 1 FROM removed) AS removed`,
    [threadId, userId],
  );
  const row = rows[0];
  if (row?.removed) return;
  if (!row?.visible) throw new ThreadNotFoundError('no such thread');
  if (!row.member) throw new MemberNotFoundError('no such member');
  if (row.creator) throw new CreatorIsPermanentMemberError("the thread's creator cannot be removed");
  throw new MemberRemovalForbiddenError('only the thread creator removes other members');
}
