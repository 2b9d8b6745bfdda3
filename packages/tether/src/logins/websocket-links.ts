import type { Session, SessionFactory, SessionLogger } from '@tether/sessions';
import { LISTENER_APPLICATION_PREFIX } from './listener-names.js';
import { SERVICE_IDENTITY } from './login-rows.js';

/** This instance's open WebSocket ids, and the highest number it had issued (ids are `<instance>:<n>`). */
export interface LocalWebSockets {
  readonly open: readonly string[];
  readonly issuedUpTo: number;
}

/**
 * The WebSocket ids linked to each login (`auth_sessions.websocket_ids`): linked and unlinked as sockets open and
 * close, and cleaned at each sweep of the ids whose socket is gone (its server instance crashed, or its unlink was
 * lost to a database outage).
 */
export class WebSocketLinks {
  private localWebSockets: (() => LocalWebSockets) | null = null;
  /** Instances whose listener was missing at the last sweep. */
  private missingInstances = new Set<string>();

  constructor(
    private readonly factory: SessionFactory,
    private readonly logger: SessionLogger,
    /** The server instance these links are made from: its own WebSockets are never taken for a gone instance's. */
    private readonly instanceId: string | undefined,
  ) {}

  /** See `LoginManager.linkWebSocket`. */
  async link(userId: string, sessionId: string, websocketId: string, keep: number): Promise<void> {
    await this.factory.withSession({ userId }, (s) =>
      s.query(
        `UPDATE auth_sessions
            SET websocket_ids = (array_append(websocket_ids, $2))[greatest(1, cardinality(websocket_ids) + 2 - $3):]
          WHERE id = $1 AND NOT ($2 = ANY (websocket_ids))`,
        [sessionId, websocketId, keep],
      ),
    );
  }

  async unlink(userId: string, sessionId: string, websocketId: string): Promise<void> {
    await this.factory.withSession({ userId }, (s) =>
      s.query('UPDATE auth_sessions SET websocket_ids = array_remove(websocket_ids, $2) WHERE id = $1', [
        sessionId,
        websocketId,
      ]),
    );
  }

  /** See `LoginManager.trackWebSockets`. */
  track(snapshot: () => LocalWebSockets): void {
    this.localWebSockets = snapshot;
  }

  /**
   * The sweep's part: each clean-up in a session of its own, so that one that fails (a server that hides
   * `pg_stat_activity`) leaves the other and the sweep's deletions standing.
   */
  async sweep(): Promise<void> {
    await this.factory
      .withSession(SERVICE_IDENTITY, (s) => this.unlinkGoneInstances(s))
      .catch((error: unknown) =>
        this.logger.warn(
          { error: (error as Error).message },
          'could not check for WebSockets of server instances that are gone',
        ),
      );
    await this.factory
      .withSession(SERVICE_IDENTITY, (s) => this.unlinkClosedLocal(s))
      .catch((error: unknown) =>
        this.logger.warn({ error: (error as Error).message }, 'could not unlink closed WebSockets of this instance'),
      );
  }

  /**
   * A WebSocket id is `<instance>:<n>`, and every live server instance holds a listener connection named
   * `listenerApplicationName(instance)`. An instance that crashed never unlinked its sockets: once its listener
   * has been missing from `pg_stat_activity` at two sweeps in a row (one missing could be a reconnect under
   * way), its ids are removed.
   */
  private async unlinkGoneInstances(s: Session): Promise<void> {
    const { rows } = await s.query<{ instance: string; live: boolean }>(
      `SELECT i.instance,
              EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = $1 || i.instance) AS live
         FROM (SELECT DISTINCT split_part(ws, ':', 1) AS instance
                 FROM auth_sessions, unnest(websocket_ids) AS ws
                WHERE cardinality(websocket_ids) > 0 AND position(':' IN ws) > 1) i`,
      [LISTENER_APPLICATION_PREFIX],
    );
    const gone = rows.filter((r) => !r.live && r.instance !== this.instanceId).map((r) => r.instance);
    const confirmed = gone.filter((instance) => this.missingInstances.has(instance));
    this.missingInstances = new Set(gone);
    if (confirmed.length === 0) return;
    const { rowCount } = await s.query(
      `UPDATE auth_sessions
          SET websocket_ids = ARRAY(SELECT ws FROM unnest(websocket_ids) AS ws
                                     WHERE split_part(ws, ':', 1) <> ALL ($1::text[]))
        WHERE EXISTS (SELECT 1 FROM unnest(websocket_ids) AS ws WHERE split_part(ws, ':', 1) = ANY ($1::text[]))`,
      [confirmed],
    );
    this.logger.info(
      { instances: confirmed, loginSessions: rowCount },
      'unlinked the WebSockets of server instances that are gone',
    );
  }

  /** Removes this instance's ids of sockets that are closed (see `track`). */
  private async unlinkClosedLocal(s: Session): Promise<void> {
    const instance = this.instanceId;
    if (!this.localWebSockets || instance === undefined) return;
    const { open, issuedUpTo } = this.localWebSockets();
    const { rowCount } = await s.query(
      `WITH closed AS (
         SELECT a.id, array_agg(ws) AS ids FROM auth_sessions a, unnest(a.websocket_ids) AS ws
          WHERE split_part(ws, ':', 1) = $1 AND ws <> ALL ($2::text[])
            AND CASE WHEN split_part(ws, ':', 2) ~ '^[0-9]{1,15}$'
                     THEN split_part(ws, ':', 2)::bigint <= $3 ELSE false END
          GROUP BY a.id)
       UPDATE auth_sessions a
          SET websocket_ids = ARRAY(SELECT ws FROM unnest(a.websocket_ids) AS ws WHERE ws <> ALL (closed.ids))
         FROM closed WHERE a.id = closed.id`,
      [instance, open, issuedUpTo],
    );
    if (rowCount) this.logger.info({ loginSessions: rowCount }, 'unlinked WebSockets of this instance that had closed');
  }
}
