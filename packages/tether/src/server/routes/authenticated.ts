import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { loginRoutes } from './auth.js';
import { memberRoutes } from './members.js';
import { adminRoutes } from './observability.js';
import { threadRoutes } from './threads.js';

/**
 * Every route that needs a caller, in one encapsulated plugin with one `preHandler` (the bearer token and its
 * login): a route registered here cannot forget it, and routes outside (register, login, health) never run it.
 */
export async function authenticatedRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.addHook('preHandler', ctx.authenticate);
  await app.register(loginRoutes, ctx);
  await app.register(threadRoutes, ctx);
  await app.register(memberRoutes, ctx);
  await app.register(adminRoutes, ctx);
}
