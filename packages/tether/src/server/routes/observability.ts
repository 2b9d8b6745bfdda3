import type { FastifyInstance } from 'fastify';
import { ForbiddenError } from '../errors.js';
import type { ServerContext } from '../context.js';

/** `/health` (live), `/ready` (database reachable, breaker closed), `/metrics` (Prometheus), `/admin/sessions`. */
export async function observabilityRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/health', async () => ({
    status: 'ok',
    version: ctx.version,
    instanceId: ctx.instanceId,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
  }));

  app.get('/ready', async (_request, reply) => {
    const health = await ctx.factory.health();
    const ready = health.status === 'ok' && health.breakerState === 'closed';
    if (!ready) reply.code(503).header('Retry-After', '1');
    return {
      status: ready ? 'ok' : 'unavailable',
      database: { status: health.status, latencyMs: Math.round(health.latencyMs * 100) / 100, error: health.error },
      breakerState: health.breakerState,
    };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });

  app.get('/admin/sessions', { preHandler: ctx.authenticate }, async (request) => {
    // the role is read from the database on every call: a grant or a removal takes effect at once
    const { rows } = await ctx.inSession(request, (s) => s.query<{ role: string }>('SELECT role FROM users WHERE id = tether_current_user_id()'));
    if (rows[0]?.role !== 'admin') throw new ForbiddenError('the admin role is required');
    return { items: ctx.factory.activeSessions(), pool: ctx.factory.poolMetrics() };
  });
}
