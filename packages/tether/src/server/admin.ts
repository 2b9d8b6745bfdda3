import type { SessionFactory } from '@tether/sessions';
import { ForbiddenError } from './errors.js';

/**
 * Checks the admin role in the caller's own session (Row-Level Security lets a user read only their row). Read
 * on every call, not from the token: a grant or a removal takes effect at once.
 */
export async function requireAdmin(factory: SessionFactory, userId: string, requestId?: string): Promise<void> {
  const { rows } = await factory.withSession({ userId, ...(requestId ? { requestId } : {}) }, (s) =>
    s.query<{ role: string }>('SELECT role FROM users WHERE id = tether_current_user_id()'),
  );
  if (rows[0]?.role !== 'admin') throw new ForbiddenError('the admin role is required');
}
