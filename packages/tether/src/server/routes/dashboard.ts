import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { dashboardAsset } from '../../dashboard/index.js';
import { z } from 'zod';
import { routeSchema } from '../docs/index.js';
import { NotFoundError } from '../errors.js';

const tags = ['dashboard'];
const pageSchema = routeSchema({
  summary: 'The live dashboard page (admins sign in; it streams from the /dashboard/ws WebSocket)',
  tags,
  database: false,
  responses: { 200: { description: 'HTML page', body: z.string() } },
});
const assetSchema = routeSchema({
  summary: "The dashboard page's scripts and styles",
  tags,
  database: false,
  params: z.object({ name: z.string() }),
  responses: { 200: { description: 'JavaScript or CSS', body: z.string() } },
  errors: ['not_found'],
});

/** `/dashboard` and its static assets. The page signs in and streams from `/dashboard/ws`. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const send = (reply: FastifyReply, name: string): FastifyReply => {
    const asset = dashboardAsset(name);
    if (!asset) throw new NotFoundError(`no dashboard asset ${name}`);
    return reply
      .type(asset.contentType)
      .header('Cache-Control', name === 'index.html' ? 'no-store' : 'public, max-age=300')
      .header('X-Content-Type-Options', 'nosniff')
      .send(createReadStream(asset.file));
  };
  app.get('/dashboard', { schema: pageSchema }, (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { name: string } }>('/dashboard/assets/:name', { schema: assetSchema }, (request, reply) =>
    send(reply, request.params.name),
  );
}
