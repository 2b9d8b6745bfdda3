import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Close codes: 4401 authentication failed or ended; 1001 server going away; 1013 try again later (database trouble).
 * */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN = 1013;
/** The user already holds `limits.websocketsPerUser` sockets on this instance (reason `websocket_limit_reached`). */
export const CLOSE_TOO_MANY = 4429;

/** Answers an upgrade request that will not become a WebSocket. */
export function refuseUpgrade(socket: Duplex, status: string, retryAfterSeconds: number | null = null): void {
  const retryAfter = retryAfterSeconds === null ? '' : `Retry-After: ${retryAfterSeconds}\r\n`;
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${retryAfter}Content-Length: 0\r\n\r\n`);
}

/** The access token of a WebSocket request: `?access_token=` or the subprotocol pair `bearer, <token>`. */
export function websocketToken(request: IncomingMessage): string | null {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
  if (query) return query;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.indexOf('bearer');
  return at >= 0 ? (protocols[at + 1] ?? null) : null;
}
