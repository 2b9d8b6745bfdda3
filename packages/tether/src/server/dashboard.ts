import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import type { AuthService } from '../auth/index.js';
import { dashboardAsset, DashboardFeed, streamDashboard } from '../dashboard/index.js';
import type { SessionFactory } from '../sessions/index.js';
import { errorReply, NotFoundError } from './errors.js';
import { CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN, CLOSE_UNAUTHORIZED, tokenOf } from './websocket.js';

/** Close code for an authenticated user who is not an admin. */
export const CLOSE_FORBIDDEN = 4403;

/** Whether the user has the admin role, read from the database (a grant or removal takes effect at once). */
export async function isAdmin(factory: SessionFactory, userId: string): Promise<boolean> {
  const { rows } = await factory.withSession({ userId }, (s) => s.query<{ role: string }>('SELECT role FROM users WHERE id = tether_current_user_id()'));
  return rows[0]?.role === 'admin';
}

/**
 * `/dashboard`: the live page (static assets) and its feed over the WebSocket `/dashboard/ws`, for admins only
 * (4401 without a valid token, 4403 for a non-admin). The feed samples the session factory only while watched.
 */
export class DashboardEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4_096, handleProtocols: (p) => (p.has('bearer') ? 'bearer' : false) });
  private readonly feed: DashboardFeed;

  constructor(
    private readonly factory: SessionFactory,
    private readonly auth: AuthService,
  ) {
    this.feed = new DashboardFeed(factory);
  }

  /** The page and its assets: public files (the data behind them needs an admin token). */
  async routes(app: FastifyInstance): Promise<void> {
    const serve = (name: string) => {
      const asset = dashboardAsset(name);
      if (!asset) throw new NotFoundError(`no dashboard asset ${name}`);
      return asset;
    };
    app.get('/dashboard', async (_request, reply) => {
      const asset = serve('index.html');
      return reply.type(asset.contentType).header('cache-control', 'no-cache').send(createReadStream(asset.file));
    });
    app.get<{ Params: { name: string } }>('/dashboard/assets/:name', async (request, reply) => {
      const asset = serve(request.params.name);
      return reply.type(asset.contentType).header('cache-control', 'public, max-age=300').send(createReadStream(asset.file));
    });
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => {});
      void this.admit(ws, tokenOf(request));
    });
  }

  private async admit(ws: WebSocket, token: string | null): Promise<void> {
    try {
      const principal = await this.auth.authenticate(token);
      if (!(await isAdmin(this.factory, principal.userId))) return ws.close(CLOSE_FORBIDDEN, 'forbidden');
      if (ws.readyState === WebSocket.OPEN) streamDashboard(ws, this.feed);
    } catch (error) {
      const reply = errorReply(error);
      ws.close(reply.status === 401 ? CLOSE_UNAUTHORIZED : CLOSE_TRY_AGAIN, reply.code);
    }
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    this.wss.close();
  }
}
