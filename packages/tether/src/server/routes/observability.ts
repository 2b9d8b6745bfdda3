import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../admin.js';
import { principalOf, type ServerContext } from '../context.js';

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
    // without its broadcaster an instance would miss other instances' messages, revocations and removals
    const listening = ctx.notificationsConnected();
    const ready = health.status === 'ok' && health.breakerState === 'closed' && listening;
    if (!ready) reply.code(503).header('Retry-After', '1');
    return {
      status: ready ? 'ok' : 'unavailable',
      database: { status: health.status, latencyMs: Math.round(health.latencyMs * 100) / 100, error: health.error },
      breakerState: health.breakerState,
      notifications: listening ? 'listening' : 'reconnecting',
      broadcaster: ctx.broadcasterKind,
    };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });

  app.get('/admin/sessions', { preHandler: ctx.authenticate }, async (request) => {
    await requireAdmin(ctx.factory, principalOf(request).userId, request.id);
    return { items: ctx.factory.activeSessions(), pool: ctx.factory.poolMetrics() };
  });
}
