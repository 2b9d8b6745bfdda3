import { isUuid, UUID_PATTERN } from '@tether/sessions';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError, parseWith, storable } from '../errors.js';
import type { ServerContext } from '../context.js';
import { createThread, getThread, listMessages, listThreads, postMessage } from '../../threads/index.js';

const threadBody = z.object({ title: storable(z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters')) });
const params = z.object({ id: z.string() });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  after: z.string().regex(UUID_PATTERN, 'must be a message id').optional(),
});

/** Threads and messages: every handler runs in a request-scoped session for the caller; RLS hides the rest. */
export async function threadRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const messageBody = z.object({
    content: storable(z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(ctx.maxMessageLength, `must be at most ${ctx.maxMessageLength} characters`)),
  });
  const idempotencyKey = z.string().min(1).max(200).optional();

  app.post('/threads', async (request, reply) => {
    const { title } = parseWith(threadBody, request.body);
    const thread = await createThread(ctx.statements(request), title);
    return reply.code(201).send(thread);
  });

  app.get('/threads', async (request) => ({ items: await listThreads(ctx.statements(request)) }));

  app.get('/threads/:id', async (request) => {
    const { id } = parseWith(params, request.params);
    return getThread(ctx.statements(request), id);
  });

  app.post('/threads/:id/messages', async (request, reply) => {
    const { id } = parseWith(params, request.params);
    if (!isUuid(id)) throw new NotFoundError('no such thread');
    const { content } = parseWith(messageBody, request.body);
    const header = request.headers['idempotency-key'];
    const key = header === undefined ? undefined : parseWith(idempotencyKey, header, 'Idempotency-Key');
    const message = await postMessage(ctx.statements(request), id, content, key);
    return reply.code(201).send(message);
  });

  app.get('/threads/:id/messages', async (request) => {
    const { id } = parseWith(params, request.params);
    const { limit, after } = parseWith(listQuery, request.query, 'query');
    return { items: await ctx.inSession(request, (s) => listMessages(s, id, { limit, after })) };
  });
}
