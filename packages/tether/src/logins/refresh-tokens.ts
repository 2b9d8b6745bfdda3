import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isUuid } from '@tether/sessions';

/**
 * Refresh tokens: `<login id>.<random>`. The id lets the row be found; only the random part's SHA-256 is stored,
 * and compared in constant time.
 */
export function hashToken(secretPart: string): string {
  return createHash('sha256').update(secretPart).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** `<sid>.<random>`: the session id lets the row be found; only the random part's hash is stored. */
export function newRefreshToken(sessionId: string): { token: string; hash: string } {
  const secretPart = randomBytes(32).toString('base64url');
  return { token: `${sessionId}.${secretPart}`, hash: hashToken(secretPart) };
}

export function parseRefreshToken(token: string): { sessionId: string; hash: string } | null {
  const dot = token.indexOf('.');
  const sessionId = token.slice(0, dot);
  const secretPart = token.slice(dot + 1);
  if (dot < 0 || !isUuid(sessionId) || secretPart.length < 20) return null;
  return { sessionId: sessionId.toLowerCase(), hash: hashToken(secretPart) };
}
