import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../admin.js';
import { principalOf, type ServerContext } from '../context.js';
import { routeSchema } from '../docs/index.js';

const tags = ['observability'];
const healthSchema = routeSchema({
  summary: 'Liveness: the process serves HTTP',
  tags,
  database: false,
  responses: {
    200: {
      description: 'Alive',
      body: z.object({
        status: z.literal('ok'),
        version: z.string(),
        instanceId: z.string(),
        uptimeSeconds: z.number().int(),
      }),
    },
  },
});
const readiness = z.object({
  status: z.enum(['ok', 'unavailable']),
  database: z.object({ status: z.string(), latencyMs: z.number(), error: z.string().nullable() }),
  breakerState: z.enum(['closed', 'open', 'half_open']),
  notifications: z.enum(['listening', 'reconnecting']),
});
const readySchema = routeSchema({
  summary: 'Readiness: database reachable, circuit breaker closed, listening for other instances',
  tags,
  database: false,
  responses: {
    200: { description: 'Ready', body: readiness },
    503: { description: 'Not ready (same body; Retry-After: 1)', body: readiness },
  },
});
const metricsSchema = routeSchema({
  summary: 'Prometheus metrics (text format)',
  tags,
  database: false,
  responses: { 200: { description: 'Prometheus text exposition format', body: z.string() } },
});
const adminSessionsSchema = routeSchema({
  summary: 'Active request-scoped database sessions (SessionMetrics) and pool figures; admin role only',
  tags: ['admin'],
  authenticated: true,
  responses: {
    200: {
      description: 'Sessions and pool',
      body: z.object({ items: z.array(z.record(z.string(), z.unknown())), pool: z.record(z.string(), z.unknown()) }),
    },
  },
  errors: ['forbidden'],
});

/** `/health` (live), `/ready` (database reachable, breaker closed), `/metrics` (Prometheus). */
export async function observabilityRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/health', { schema: healthSchema }, async () => ({
    status: 'ok',
    version: ctx.version,
    instanceId: ctx.instanceId,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
  }));

  app.get('/ready', { schema: readySchema }, async (_request, reply) => {
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

  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });
}

/** `/admin/sessions` for an authenticated administrator (see `authenticatedRoutes`): the open database sessions. */
export async function adminRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/admin/sessions', { schema: adminSessionsSchema }, async (request) => {
    await requireAdmin(ctx.factory, principalOf(request).userId, request.id);
    return { items: ctx.factory.activeSessions(), pool: ctx.factory.poolMetrics() };
  });
}
