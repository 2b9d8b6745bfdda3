import type { LoginManager } from '../../logins/index.js';
import type { Connection } from './connections.js';

/** Protocol pings: a socket that did not answer the last one is terminated; the others are pinged again. */
export function heartbeat(connections: Iterable<Connection>): void {
  for (const c of connections) {
    if (!c.alive) {
      c.ws.terminate();
      continue;
    }
    c.alive = false;
    c.ws.ping();
  }
}

/**
 * Re-checks the logins of open sockets, a thousand per query: `close` is called for each one expired or revoked
 * without a notification reaching this instance. While the database is away the sockets are kept.
 */
export async function recheckLogins(
  loginIds: readonly string[],
  logins: LoginManager,
  close: (loginId: string) => void,
): Promise<void> {
  for (let i = 0; i < loginIds.length; i += 1000) {
    const chunk = loginIds.slice(i, i + 1000);
    let live: Set<string>;
    try {
      live = await logins.stillLive(chunk);
    } catch {
      return; // the database is away: keep the sockets, check again next time
    }
    for (const id of chunk) if (!live.has(id)) close(id);
  }
}
