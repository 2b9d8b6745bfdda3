import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { z } from 'zod';
import type { AuthService, Principal } from '../auth/index.js';
import type { MessageEvent } from '../broadcast/index.js';
import { TetherError } from '../errors.js';
import type { SessionFactory, SessionLogger } from '@tether/sessions';
import type { LoginManager } from '../logins/index.js';
import { errorReply, InvalidFrameError, isStorableText, parseWith } from './errors.js';
import { CLIENT_FRAME_TYPES, clientFrameSchema, type ClientFrame } from './frames.js';
import type { ServerMetrics, WebSocketFigures } from './metrics.js';
import { getMessage, getThread, postMessage, type Message, type StatementRunner } from './threads-store.js';

/** Close codes: 4401 authentication failed or ended; 1001 server going away; 1013 try again later (database trouble). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN = 1013;

/** Messages written this long before events stopped arriving are delivered again (and deduplicated). */
const CATCH_UP_MARGIN_MS = 5_000;
/** Recently delivered message ids remembered to keep a catch-up from sending one twice. */
const DELIVERED_MEMORY = 20_000;

export interface WebSocketHubOptions {
  readonly auth: AuthService;
  readonly factory: SessionFactory;
  readonly logins: LoginManager;
  readonly metrics: ServerMetrics;
  readonly logger: SessionLogger;
  readonly instanceId: string;
  readonly maxMessageLength: number;
  readonly maxPayloadBytes: number;
  readonly heartbeatMs: number;
  /** How often open sockets' login sessions are re-checked (expiry, missed revocations). */
  readonly sessionCheckIntervalMs: number;
  readonly breakerCooldownMs: number;
  /** A frame's write committed (its events wait in the outbox): the relay publishes them now. */
  readonly onCommitted: () => void;
}

interface Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly principal: Principal;
  readonly subscriptions: Set<string>;
  readonly expiry: NodeJS.Timeout;
  alive: boolean;
  /** Frames being handled; at most `MAX_FRAMES_IN_FLIGHT`. */
  inFlight: number;
  /** Frames read but not yet handled, in arrival order; while any wait, the socket is paused. */
  readonly waiting: Array<{ readonly raw: unknown; readonly id: FrameId }>;
}

/**
 * Frames one socket may have in flight at once. A client that sends faster waits: further frames queue in
 * order, and its socket is paused so that TCP flow control slows it down (the queue holds at most what was
 * already read) instead of the client taking the whole pool from everyone else.
 */
export const MAX_FRAMES_IN_FLIGHT = 8;

type FrameId = string | number | undefined;

/**
 * `/ws`: authenticated WebSockets (SPEC's WebSocket contract). Each frame runs in a request-scoped session for
 * its user; new messages reach subscribers on every instance through the broadcaster (`deliver`); a revoked
 * login session closes its sockets with 4401 on every instance.
 */
export class WebSocketHub {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly byThread = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private nextId = 0;
  private readonly delivered = new Set<string>();
  private closing = false;
  private frameSchema: z.ZodType<ClientFrame>;

  constructor(private readonly options: WebSocketHubOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      // `Sec-WebSocket-Protocol: bearer, <token>`: agree to `bearer`; the token is read from the request
      handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
    });
    this.frameSchema = clientFrameSchema(options.maxMessageLength);
    options.logins.onRevoked((sessionId, _userId, reason) => this.closeLogin(sessionId, CLOSE_UNAUTHORIZED, reason === 'expired' ? 'session_expired' : 'session_revoked'));
    if (options.heartbeatMs > 0) this.every(options.heartbeatMs, () => this.heartbeat());
    this.every(options.sessionCheckIntervalMs, () => void this.recheckSessions());
  }

  /** Takes over an `upgrade` request for `/ws`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, '503 Service Unavailable');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  figures(): WebSocketFigures {
    let subscriptions = 0;
    for (const set of this.byThread.values()) subscriptions += set.size;
    return { connections: this.connections.size, subscriptions };
  }

  /** A message event: deliver the message to this instance's subscribers of its thread (once per socket). */
  async deliver(note: MessageEvent): Promise<void> {
    if (!this.firstDelivery(note.id)) return;
    const subscribers = this.byThread.get(note.threadId);
    if (!subscribers?.size) return;
    let message: Message | null;
    if (typeof note.content === 'string') {
      message = { id: note.id, threadId: note.threadId, content: note.content, createdAt: new Date(note.createdAt).toISOString() };
    } else {
      // too large for a notification: read it as its author (RLS)
      message = await this.options.factory.withSession({ userId: note.userId, threadId: note.threadId }, (s) => getMessage(s, note.id)).catch(() => null);
      if (!message) return;
    }
    const frame = JSON.stringify({ type: 'message', message });
    for (const connection of subscribers) {
      if (connection.ws.readyState === WebSocket.OPEN) {
        connection.ws.send(frame);
        this.options.metrics.wsBroadcasts.inc();
      }
    }
  }

  /**
   * After the LISTEN connection was lost and came back: delivers, from the database, the messages of subscribed
   * threads written since shortly before the loss. Messages already delivered are not sent twice.
   */
  async catchUp(lostAt: number): Promise<void> {
    const threadIds = [...this.byThread.keys()];
    if (threadIds.length === 0) return;
    const since = new Date(lostAt - CATCH_UP_MARGIN_MS);
    let rows: Array<{ id: string; thread_id: string; content: string; created_at: Date }>;
    try {
      // the hub delivers to subscribers it authorised at subscribe time; reading across their threads is its job
      ({ rows } = await this.options.factory.query<{ id: string; thread_id: string; content: string; created_at: Date }>(
        { userId: 'service:websocket-hub' },
        'SELECT id, thread_id, content, created_at FROM messages WHERE thread_id = ANY($1::uuid[]) AND created_at >= $2 ORDER BY created_at, id LIMIT 10000',
        [threadIds, since],
      ));
    } catch (error) {
      this.options.logger.warn({ error: (error as Error).message }, 'could not deliver the messages missed while events were not received');
      return;
    }
    for (const row of rows) {
      if (!this.firstDelivery(row.id)) continue;
      const frame = JSON.stringify({ type: 'message', message: { id: row.id, threadId: row.thread_id, content: row.content, createdAt: row.created_at.toISOString() } });
      for (const connection of this.byThread.get(row.thread_id) ?? []) {
        if (connection.ws.readyState === WebSocket.OPEN) {
          connection.ws.send(frame);
          this.options.metrics.wsBroadcasts.inc();
        }
      }
    }
  }

  /** Whether a message id is seen for the first time (recent ids only: enough to bridge a catch-up). */
  private firstDelivery(id: string): boolean {
    if (this.delivered.has(id)) return false;
    this.delivered.add(id);
    if (this.delivered.size > DELIVERED_MEMORY) {
      for (const old of this.delivered) {
        this.delivered.delete(old);
        if (this.delivered.size <= DELIVERED_MEMORY / 2) break;
      }
    }
    return true;
  }

  /**
   * A user left a thread or was removed: their subscriptions to it on this instance end now, each with an error
   * frame `membership_revoked` naming the thread; their sockets stay open.
   */
  endMembership(threadId: string, userId: string): void {
    for (const connection of [...(this.byThread.get(threadId) ?? [])]) {
      if (connection.principal.userId !== userId) continue;
      connection.subscriptions.delete(threadId);
      removeFrom(this.byThread, threadId, connection);
      this.send(connection.ws, { type: 'error', code: 'membership_revoked', message: 'you are no longer a member of this thread', threadId });
    }
  }

  /**
   * After missed events: ends the subscriptions of users who are no longer members of the thread (a removal
   * announced while this instance was not listening).
   */
  async recheckMemberships(): Promise<void> {
    const pairs = [...this.byThread].flatMap(([threadId, set]) => [...new Set([...set].map((c) => c.principal.userId))].map((userId) => ({ threadId, userId })));
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

  /** Closes every socket of a login session (revoked, expired). */
  closeLogin(sessionId: string, code: number, reason: string): void {
    const set = this.bySession.get(sessionId);
    if (!set) return;
    for (const connection of [...set]) connection.ws.close(code, reason.slice(0, 120));
  }

  /** Closes every socket with 1001 and stops accepting new ones; resolves when they are gone (or after `graceMs`). */
  async close(graceMs = 2_000): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    const closed = [...this.connections].map((c) => new Promise<void>((resolve) => {
      if (c.ws.readyState === WebSocket.CLOSED) return resolve();
      c.ws.once('close', () => resolve());
      c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    }));
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
        const connection = this.register(ws, principal);
        for (const data of early) this.onFrame(connection, data);
        if (connection.waiting.length === 0) ws.resume(); // paused while early frames piled up, and none wait now
      },
      (error: unknown) => {
        ws.off('message', buffer);
        const reply = errorReply(error, this.options.breakerCooldownMs);
        this.options.metrics.requestErrors.inc({ code: reply.code, transport: 'websocket' });
        if (reply.status === 401) {
          ws.close(CLOSE_UNAUTHORIZED, reply.code);
        } else {
          this.send(ws, { type: 'error', code: reply.code, message: reply.message, ...(reply.retryAfterSeconds !== null ? { retryAfter: reply.retryAfterSeconds } : {}) });
          ws.close(CLOSE_TRY_AGAIN, reply.code);
        }
      },
    );
  }

  private register(ws: WebSocket, principal: Principal): Connection {
    const id = `${this.options.instanceId}:${++this.nextId}`;
    const expiry = setTimeout(() => ws.close(CLOSE_UNAUTHORIZED, 'token_expired'), Math.max(0, principal.tokenExpiresAt - Date.now()));
    expiry.unref();
    const connection: Connection = { id, ws, principal, subscriptions: new Set(), expiry, alive: true, inFlight: 0, waiting: [] };
    this.connections.add(connection);
    addTo(this.bySession, principal.sessionId, connection);
    this.options.metrics.wsConnectionsTotal.inc();
    const { logins, logger } = this.options;
    logins.linkWebSocket(principal.userId, principal.sessionId, id).catch((error: unknown) => logger.warn({ error: (error as Error).message, websocketId: id }, 'could not link the WebSocket to its login session'));
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data) => this.onFrame(connection, data));
    ws.once('close', (code) => {
      clearTimeout(expiry);
      connection.waiting.length = 0; // nobody is left to answer
      this.connections.delete(connection);
      removeFrom(this.bySession, principal.sessionId, connection);
      for (const threadId of connection.subscriptions) removeFrom(this.byThread, threadId, connection);
      this.options.metrics.wsCloses.inc({ code: String(code) });
      logins.unlinkWebSocket(principal.userId, principal.sessionId, id).catch((error: unknown) => logger.warn({ error: (error as Error).message, websocketId: id }, 'could not unlink the WebSocket from its login session'));
    });
    return connection;
  }

  private onFrame(connection: Connection, data: RawData): void {
    let id: FrameId;
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString());
    } catch {
      this.options.metrics.wsFrames.inc({ type: 'invalid' });
      this.fail(connection.ws, new InvalidFrameError('frame is not JSON'), undefined);
      return;
    }
    if (raw && typeof raw === 'object' && 'id' in raw) {
      const candidate = (raw as { id: unknown }).id;
      if (typeof candidate === 'string' || (typeof candidate === 'number' && Number.isFinite(candidate))) id = candidate;
    }
    const type = raw && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string' ? (raw as { type: string }).type : 'invalid';
    const known = (CLIENT_FRAME_TYPES as readonly string[]).includes(type);
    this.options.metrics.wsFrames.inc({ type: known ? type : 'invalid' });
    if (!known) {
      this.fail(connection.ws, new InvalidFrameError(type === 'invalid' ? 'frame has no type' : `unknown frame type ${JSON.stringify(type).slice(0, 60)}`), id);
      return;
    }
    this.dispatch(connection, raw, id);
  }

  /** Handles a frame now, or queues it (and pauses the socket) while the socket has its fill in flight. */
  private dispatch(connection: Connection, raw: unknown, id: FrameId): void {
    if (connection.inFlight >= MAX_FRAMES_IN_FLIGHT) {
      connection.waiting.push({ raw, id });
      connection.ws.pause();
      return;
    }
    connection.inFlight++;
    this.handle(connection, raw, id)
      .catch((error: unknown) => this.fail(connection.ws, error, id))
      .finally(() => {
        connection.inFlight--;
        const next = connection.waiting.shift();
        if (next) this.dispatch(connection, next.raw, next.id);
        else connection.ws.resume();
      });
  }

  private async handle(connection: Connection, raw: unknown, id: FrameId): Promise<void> {
    const frame = parseWith(this.frameSchema, raw, 'frame');
    const { userId } = connection.principal;
    switch (frame.type) {
      case 'ping':
        this.send(connection.ws, { type: 'pong', ...(id !== undefined ? { id } : {}) });
        return;
      case 'thread.subscribe': {
        await getThread(this.statements(userId, frame.threadId), frame.threadId);
        if (connection.ws.readyState !== WebSocket.OPEN) return;
        connection.subscriptions.add(frame.threadId);
        addTo(this.byThread, frame.threadId, connection);
        this.send(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}) });
        return;
      }
      case 'thread.unsubscribe':
        connection.subscriptions.delete(frame.threadId);
        removeFrom(this.byThread, frame.threadId, connection);
        this.send(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}) });
        return;
      case 'message.send': {
        // a retried send carries the same client id and gets the stored message back, not a duplicate
        const clientMessageId = frame.clientMessageId ?? (typeof id === 'string' && id.length >= 16 && isStorableText(id) ? id : null);
        const message = await postMessage(this.statements(userId, frame.threadId), frame.threadId, frame.content, clientMessageId);
        this.options.onCommitted();
        this.send(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}), message });
        return;
      }
    }
  }

  /** Each statement a whole request-scoped session for the frame's user, in one round trip. */
  private statements(userId: string, threadId: string): StatementRunner {
    return { query: (text, values) => this.options.factory.query({ userId, threadId }, text, values) };
  }

  private fail(ws: WebSocket, error: unknown, id: FrameId): void {
    const reply = errorReply(error, this.options.breakerCooldownMs);
    this.options.metrics.requestErrors.inc({ code: reply.code, transport: 'websocket' });
    if (!(error instanceof TetherError)) this.options.logger.error({ error: (error as Error)?.message, stack: (error as Error)?.stack }, 'WebSocket frame failed');
    this.send(ws, { type: 'error', ...(id !== undefined ? { id } : {}), code: reply.code, message: reply.message, ...(reply.retryAfterSeconds !== null ? { retryAfter: reply.retryAfterSeconds } : {}) });
  }

  private send(ws: WebSocket, frame: object): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  private heartbeat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** Re-checks the login sessions of open sockets: closes those expired or revoked without a notification. */
  private async recheckSessions(): Promise<void> {
    const ids = [...this.bySession.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      let live: Set<string>;
      try {
        live = await this.options.logins.stillLive(chunk);
      } catch {
        return; // the database is away: keep the sockets, check again next time
      }
      for (const sid of chunk) if (!live.has(sid)) this.closeLogin(sid, CLOSE_UNAUTHORIZED, 'session_expired');
    }
  }
}

/** The access token from `?access_token=` or from the subprotocol pair `bearer, <token>`. */
/** Answers an upgrade request that will not become a WebSocket. */
export function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The access token of a WebSocket request: `?access_token=` or the subprotocol pair `bearer, <token>`. */
export function websocketToken(request: IncomingMessage): string | null {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
  if (query) return query;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.indexOf('bearer');
  return at >= 0 ? (protocols[at + 1] ?? null) : null;
}

function addTo<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(connection);
}

function removeFrom<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(connection);
  if (set.size === 0) map.delete(key);
}
