import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseWith, storable } from '../errors.js';
import { principalOf, type ServerContext } from '../context.js';

const credentials = z.object({
  email: storable(z.string().trim().max(320, 'must be at most 320 characters')).pipe(z.email('must be an email address')),
  password: storable(z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters')),
});
const loginBody = z.object({ email: storable(z.string().trim().min(1, 'is required').max(320)), password: z.string().min(1, 'is required').max(1024) });
const refreshBody = z.object({ refreshToken: z.string({ error: 'is required' }).min(1, 'is required').max(512) });
const logoutBody = z.object({ all: z.boolean().optional() });

/** `/auth/*` for anyone: register, login, refresh (rotation). */
export async function authRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/auth/register', async (request, reply) => {
    const { email, password } = parseWith(credentials, request.body);
    const user = await ctx.auth.register(email, password, { requestId: request.id });
    return reply.code(201).send({ user: { id: user.id, email: user.email } });
  });

  app.post('/auth/login', async (request) => {
    const { email, password } = parseWith(loginBody, request.body);
    return ctx.auth.login(email, password, { requestId: request.id, userAgent: request.headers['user-agent'] ?? null });
  });

  app.post('/auth/refresh', async (request) => {
    const { refreshToken } = parseWith(refreshBody, request.body);
    return ctx.auth.refresh(refreshToken, { requestId: request.id });
  });

}

/** `/auth/*` for an authenticated caller (see `authenticatedRoutes`): logout of one login or all, the caller's logins. */
export async function loginRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/auth/logout', async (request, reply) => {
    const { all } = parseWith(logoutBody, request.body);
    await ctx.auth.logout(principalOf(request), all === true);
    return reply.code(204).send();
  });

  app.get('/auth/sessions', async (request) => {
    const principal = principalOf(request);
    const sessions = await ctx.logins.list(principal.userId);
    return {
      items: sessions.map((s) => ({
        id: s.id,
        current: s.id === principal.sessionId,
        createdAt: new Date(s.createdAt).toISOString(),
        lastSeenAt: new Date(s.lastSeenAt).toISOString(),
        expiresAt: new Date(s.expiresAt).toISOString(),
        revokedAt: s.revokedAt === null ? null : new Date(s.revokedAt).toISOString(),
        revokedReason: s.revokedReason,
        userAgent: s.userAgent,
        websocketIds: s.websocketIds,
      })),
    };
  });
}
