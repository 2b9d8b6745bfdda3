import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { AuthService } from '../auth/index.js';
import { DashboardFeed, streamDashboard, UserEmails, type TrafficTotals } from '../dashboard/index.js';
import type { SessionFactory } from '@tether/sessions';
import { requireAdmin } from './admin.js';
import { errorReply, ForbiddenError } from './errors.js';
import { CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN, CLOSE_UNAUTHORIZED, refuseUpgrade, websocketToken } from './ws/index.js';

/** The socket is authenticated, but the account is not an administrator. */
export const CLOSE_FORBIDDEN = 4403;

export interface DashboardEndpointOptions {
  readonly auth: AuthService;
  readonly factory: SessionFactory;
  readonly breakerCooldownMs: number;
  /** The server's HTTP and WebSocket counts. */
  readonly traffic: () => Promise<TrafficTotals>;
}

/**
 * `/dashboard/ws`: the live feed for administrators. The token comes as for `/ws`; a bad one closes with
 * 4401, a non-admin with 4403. Every watcher shares one feed, sampled only while someone watches.
 */
export class DashboardEndpoint {
  readonly feed: DashboardFeed;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4_096,
    handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
  });
  private closing = false;

  constructor(private readonly options: DashboardEndpointOptions) {
    const { factory } = options;
    // one privileged statement per batch of ids not yet known: users' rows are otherwise hidden by RLS
    const emails = new UserEmails(async (ids) => {
      const { rows } = await factory.query<{ id: string; email: string }>(
        { userId: 'service:dashboard' },
        'SELECT id, email FROM users WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return new Map(rows.map((r) => [r.id, r.email]));
    });
    this.feed = new DashboardFeed(factory, { traffic: options.traffic, emails });
    this.feed.start(); // the last minute of history is there when someone signs in
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, '503 Service Unavailable');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, websocketToken(request)));
  }

  private accept(ws: WebSocket, token: string | null): void {
    ws.on('error', () => {});
    (async () => {
      const principal = await this.options.auth.authenticate(token);
      await requireAdmin(this.options.factory, principal.userId);
      return principal;
    })().then(
      (principal) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const expiry = setTimeout(
          () => ws.close(CLOSE_UNAUTHORIZED, 'token_expired'),
          Math.max(0, principal.tokenExpiresAt - Date.now()),
        );
        expiry.unref();
        ws.once('close', () => clearTimeout(expiry));
        streamDashboard(ws, this.feed);
      },
      (error: unknown) => {
        if (error instanceof ForbiddenError) return ws.close(CLOSE_FORBIDDEN, 'forbidden');
        const reply = errorReply(error, this.options.breakerCooldownMs);
        ws.close(reply.status === 401 ? CLOSE_UNAUTHORIZED : CLOSE_TRY_AGAIN, reply.code);
      },
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    this.feed.close();
    for (const ws of this.wss.clients) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
