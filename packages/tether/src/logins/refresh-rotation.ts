import type { Session } from '@tether/sessions';
import { COLUMNS, type Row } from './login-rows.js';
import { sameHash } from './refresh-tokens.js';

/** Refresh tokens kept for reuse detection, per login. */
const ROTATED_KEPT = 32;

/** What presenting a refresh token came to; the login's row as it was read (`rotated`: as it is now). */
export type Rotation =
  { readonly kind: 'invalid' } | { readonly kind: 'reused' | 'revoked' | 'expired' | 'rotated'; readonly row: Row };

/**
 * Rotates the refresh token of login `loginId` in `s` (under a lock of its row): the presented token (its hash,
 * `presentedHash`) gives way to `newHash`. A token that was already rotated away is reuse (a copy is in someone
 * else's hands): the login is revoked. A login past its absolute or idle expiry (`idleTtlSeconds`) is not rotated.
 */
export async function rotateRefreshToken(
  s: Session,
  loginId: string,
  presentedHash: string,
  newHash: string,
  idleTtlSeconds: number,
): Promise<Rotation> {
  const { rows } = await s.query<Row & { idle_expired: boolean }>(
    `SELECT ${COLUMNS}, last_seen_at <= now() - make_interval(secs => $2) AS idle_expired
       FROM auth_sessions WHERE id = $1 FOR UPDATE`,
    [loginId, idleTtlSeconds],
  );
  const row = rows[0];
  if (!row) return { kind: 'invalid' };
  if (row.rotated_refresh_token_hashes.some((h) => sameHash(h, presentedHash))) {
    if (!row.revoked_at) {
      await s.query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse' WHERE id = $1",
        [row.id],
      );
    }
    return { kind: 'reused', row };
  }
  if (!sameHash(row.refresh_token_hash, presentedHash)) return { kind: 'invalid' };
  if (row.revoked_at) return { kind: 'revoked', row };
  if (row.expires_at.getTime() <= Date.now() || row.idle_expired) return { kind: 'expired', row };
  const rotated = [row.refresh_token_hash, ...row.rotated_refresh_token_hashes].slice(0, ROTATED_KEPT);
  const updated = await s.query<Row>(
    `UPDATE auth_sessions
        SET refresh_token_hash = $2, rotated_refresh_token_hashes = $3, last_seen_at = now(), refreshed_at = now()
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [row.id, newHash, rotated],
  );
  return { kind: 'rotated', row: updated.rows[0] as Row };
}
