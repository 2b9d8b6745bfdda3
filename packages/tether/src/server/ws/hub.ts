import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AuthService, Principal } from '../../auth/index.js';
import type { MessageEvent } from '../../broadcast/index.js';
import type { LoginManager } from '../../logins/index.js';
import { errorReply } from '../errors.js';
import { clientAddressOf, type ServerLimits, type TrustFunction } from '../limits/index.js';
import type { WebSocketFigures } from '../metrics.js';
import { addTo, removeFrom, sendFrame, type Connection } from './connections.js';
import { FanOut } from './fan-out.js';
import { FrameHandler, MAX_FRAMES_IN_FLIGHT, type FrameHandlerOptions } from './frame-handler.js';
import { heartbeat, recheckLogins } from './liveness.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_TOO_MANY,
  CLOSE_TRY_AGAIN,
  CLOSE_UNAUTHORIZED,
  refuseUpgrade,
  websocketToken,
} from './upgrade.js';

/** What the hub needs besides what its frames do (`FrameHandlerOptions`). */
export interface WebSocketHubOptions extends FrameHandlerOptions {
  readonly auth: AuthService;
  readonly logins: LoginManager;
  readonly instanceId: string;
  readonly maxPayloadBytes: number;
  /** Per-IP and per-user rate limits, per-identity sessions, the per-user socket limit. */
  readonly limits: ServerLimits;
  /** `server.trustProxy`, compiled: which `X-Forwarded-For` names the client of an upgrade. */
  readonly trustProxy: TrustFunction;
  readonly heartbeatMs: number;
  /** How often open sockets' login sessions are re-checked (expiry, missed revocations). */
  readonly sessionCheckIntervalMs: number;
}

/**
 * `/ws`: authenticated WebSockets (SPEC's WebSocket contract). Each frame runs in a request-scoped session for
 * its user; new messages reach subscribers on every instance through the broadcaster (`deliver`); a revoked
 * login session closes its sockets with 4401 on every instance.
 */
export class WebSocketHub {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** Open sockets by the login they authenticated with. */
  private readonly byLogin = new Map<string, Set<Connection>>();
  /** Open sockets by user: at most `limits.websocketsPerUser` each. */
  private readonly byUser = new Map<string, Set<Connection>>();
  /** The client's address as fastify's `request.ip` gives it (the same `trustProxy`). */
  private readonly clientAddress: (request: IncomingMessage) => string;
  private readonly fanOut: FanOut;
  private readonly timers: NodeJS.Timeout[] = [];
  private nextId = 0;
  private closing = false;
  private readonly frames: FrameHandler;

  constructor(private readonly options: WebSocketHubOptions) {
    this.clientAddress = clientAddressOf(options.trustProxy);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      // `Sec-WebSocket-Protocol: bearer, <token>`: agree to `bearer`; the token is read from the request
      handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
    });
    this.fanOut = new FanOut(options);
    this.frames = new FrameHandler(options, this.fanOut);
    options.logins.trackWebSockets(() => ({ open: [...this.connections].map((c) => c.id), issuedUpTo: this.nextId }));
    options.logins.onRevoked((sessionId, _userId, reason) =>
      this.closeLogin(sessionId, CLOSE_UNAUTHORIZED, reason === 'expired' ? 'session_expired' : 'session_revoked'),
    );
    if (options.heartbeatMs > 0) this.every(options.heartbeatMs, () => heartbeat(this.connections));
    const closeExpired = (loginId: string): void => this.closeLogin(loginId, CLOSE_UNAUTHORIZED, 'session_expired');
    this.every(
      options.sessionCheckIntervalMs,
      () => void recheckLogins([...this.byLogin.keys()], options.logins, closeExpired),
    );
  }

  /** Takes over an `upgrade` request for `/ws`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, '503 Service Unavailable');
    try {
      this.options.limits.checkIp(this.clientAddress(request));
    } catch (error) {
      const reply = errorReply(error, this.options.breakerCooldownMs);
      this.options.metrics.requestErrors.inc({ code: reply.code, transport: 'websocket' });
      return refuseUpgrade(socket, '429 Too Many Requests', reply.retryAfterSeconds);
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  figures(): WebSocketFigures {
    return { connections: this.connections.size, subscriptions: this.fanOut.subscriptionCount() };
  }

  /** A message event from any instance: deliver it to this instance's subscribers of its thread. */
  deliver(event: MessageEvent): Promise<void> {
    return this.fanOut.deliver(event);
  }

  /**
   * After missed events: ends the subscriptions of users who are no longer members of the thread (a removal
   * announced while this instance was not receiving).
   */
  async recheckMemberships(): Promise<void> {
    const pairs = this.fanOut.subscribedMembers();
    if (pairs.length === 0) return;
    try {
      const { rows } = await this.options.factory.query<{ thread_id: string; user_id: string }>(
        { userId: 'service:websocket-hub' },
        `SELECT p.thread_id, p.user_id FROM unnest($1::uuid[], $2::uuid[]) AS p(thread_id, user_id)
          WHERE NOT EXISTS (SELECT 1 FROM thread_members m WHERE m.thread_id = p.thread_id AND m.user_id = p.user_id)`,
        [pairs.map((p) => p.threadId), pairs.map((p) => p.userId)],
      );
      for (const row of rows) this.endMembership(row.thread_id, row.user_id);
    } catch (error) {
      this.options.logger.warn({ error: (error as Error).message }, 'could not check memberships after missed events');
    }
  }

  /** After events stopped arriving for a while: the messages missed meanwhile (see `FanOut.catchUp`). */
  catchUp(lostAt: number): Promise<void> {
    return this.fanOut.catchUp(lostAt);
  }

  /**
   * A user left a thread or was removed: their subscriptions to it on this instance end now, each with an error
   * frame `membership_revoked` naming the thread; their sockets stay open.
   */
  endMembership(threadId: string, userId: string): void {
    for (const connection of this.fanOut.subscribersOf(threadId, userId)) {
      this.fanOut.unsubscribe(connection, threadId);
      sendFrame(connection.ws, {
        type: 'error',
        code: 'membership_revoked',
        message: 'you are no longer a member of this thread',
        threadId,
      });
    }
  }

  /** Closes every socket of a login (revoked, expired). */
  closeLogin(loginId: string, code: number, reason: string): void {
    const set = this.byLogin.get(loginId);
    if (!set) return;
    for (const connection of [...set]) connection.ws.close(code, reason.slice(0, 120));
  }

  /** Closes every socket with 1001 and stops accepting new ones; resolves when they are gone (or after `graceMs`). */
  async close(graceMs = 2_000): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    const closed = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const token = websocketToken(request);
    // frames sent before authentication finishes wait for it
    const early: RawData[] = [];
    const buffer = (data: RawData): void => {
      if (early.push(data) === MAX_FRAMES_IN_FLIGHT) ws.pause();
    };
    ws.on('message', buffer);
    ws.on('error', () => {});
    this.options.auth.authenticate(token).then(
      (principal) => {
        ws.off('message', buffer);
        if (ws.readyState !== WebSocket.OPEN) return;
        if (this.closing) return ws.close(CLOSE_GOING_AWAY, 'server shutting down');
        if ((this.byUser.get(principal.userId)?.size ?? 0) >= this.options.limits.websocketsPerUser) {
          this.options.metrics.requestErrors.inc({ code: 'websocket_limit_reached', transport: 'websocket' });
          return ws.close(CLOSE_TOO_MANY, 'websocket_limit_reached');
        }
        const connection = this.register(ws, principal);
        for (const data of early) this.frames.receive(connection, data);
        if (connection.waiting.length === 0) ws.resume(); // paused while early frames piled up, and none wait now
      },
      (error: unknown) => {
        ws.off('message', buffer);
        const reply = errorReply(error, this.options.breakerCooldownMs);
        this.options.metrics.requestErrors.inc({ code: reply.code, transport: 'websocket' });
        if (reply.status === 401) {
          ws.close(CLOSE_UNAUTHORIZED, reply.code);
        } else {
          sendFrame(ws, {
            type: 'error',
            code: reply.code,
            message: reply.message,
            ...(reply.retryAfterSeconds !== null ? { retryAfter: reply.retryAfterSeconds } : {}),
          });
          ws.close(CLOSE_TRY_AGAIN, reply.code);
        }
      },
    );
  }

  private register(ws: WebSocket, principal: Principal): Connection {
    const id = `${this.options.instanceId}:${++this.nextId}`;
    const expiry = setTimeout(
      () => ws.close(CLOSE_UNAUTHORIZED, 'token_expired'),
      Math.max(0, principal.tokenExpiresAt - Date.now()),
    );
    expiry.unref();
    const connection: Connection = {
      id,
      ws,
      principal,
      subscriptions: new Set(),
      expiry,
      alive: true,
      inFlight: 0,
      waiting: [],
      refusalPause: undefined,
      framesInPause: 0,
    };
    this.connections.add(connection);
    addTo(this.byLogin, principal.sessionId, connection);
    addTo(this.byUser, principal.userId, connection);
    this.options.metrics.wsConnectionsTotal.inc();
    const { logins, logger } = this.options;
    const { sessions } = this.options.limits; // links are the user's sessions too: they wait their turn
    const keep = this.options.limits.websocketsPerUser;
    const linked = sessions
      .run(principal.userId, () => logins.linkWebSocket(principal.userId, principal.sessionId, id, keep))
      .catch((error: unknown) =>
        logger.warn(
          { error: (error as Error).message, websocketId: id },
          'could not link the WebSocket to its login session',
        ),
      );
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data) => this.frames.receive(connection, data));
    ws.once('close', (code) => {
      clearTimeout(expiry);
      clearTimeout(connection.refusalPause);
      connection.waiting.length = 0; // nobody is left to answer
      this.connections.delete(connection);
      removeFrom(this.byLogin, principal.sessionId, connection);
      removeFrom(this.byUser, principal.userId, connection);
      this.fanOut.drop(connection);
      this.options.metrics.wsCloses.inc({ code: String(code) });
      // after the link has settled: an unlink that overtook it would leave the id linked for good
      void linked
        .then(() =>
          sessions.run(principal.userId, () => logins.unlinkWebSocket(principal.userId, principal.sessionId, id)),
        )
        .catch((error: unknown) =>
          logger.warn(
            { error: (error as Error).message, websocketId: id },
            'could not unlink the WebSocket (the sweep will)',
          ),
        );
    });
    return connection;
  }
}
