import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { dashboardAsset } from '../../dashboard/index.js';
import { NotFoundError } from '../errors.js';

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
  app.get('/dashboard', (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { name: string } }>('/dashboard/assets/:name', (request, reply) => send(reply, request.params.name));
}
