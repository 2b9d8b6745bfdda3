import type { Login } from './login.js';

/** A row of `auth_sessions` (the table keeps its name: see the README), as the manager reads it. */
export interface Row {
  id: string;
  user_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  user_agent: string | null;
  websocket_ids: string[];
  refresh_token_hash: string;
  rotated_refresh_token_hashes: string[];
}

/** The identity work that spans users' logins runs as (refresh by token, the sweep, statistics). */
export const SERVICE_IDENTITY = { userId: 'service:user-sessions' } as const;

/** The columns of `Row`, in every SELECT and RETURNING of the manager. */
export const COLUMNS =
  'id, user_id, created_at, last_seen_at, expires_at, revoked_at, revoked_reason, user_agent, websocket_ids, ' +
  'refresh_token_hash, rotated_refresh_token_hashes';

export function toLogin(row: Row): Login {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at.getTime(),
    lastSeenAt: row.last_seen_at.getTime(),
    expiresAt: row.expires_at.getTime(),
    revokedAt: row.revoked_at?.getTime() ?? null,
    revokedReason: row.revoked_reason,
    userAgent: row.user_agent,
    websocketIds: row.websocket_ids,
  };
}
