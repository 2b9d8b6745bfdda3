import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError, parseWith, storable } from '../errors.js';
import type { ServerContext } from '../context.js';
import { routeSchema } from '../docs/index.js';
import { messageSchema } from '../ws/frames.js';
import { createThread, getThread, listMessages, listThreads, postMessage } from '../../threads/index.js';
import { isUuid, UUID_PATTERN } from '@tether/sessions';

const threadBody = z.object({
  title: storable(
    z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  ),
});
const params = z.object({ id: z.string().describe('thread id (UUID)') });
const thread = z.object({ id: z.uuid(), title: z.string(), createdAt: z.iso.datetime() });
const tags = ['threads'];
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  after: z.string().regex(UUID_PATTERN, 'must be a message id').optional(),
});

/** Threads and messages: every handler runs in a request-scoped session for the caller; RLS hides the rest. */
export async function threadRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const messageBody = z.object({
    content: storable(
      z
        .string({ error: 'is required' })
        .trim()
        .min(1, 'must not be empty')
        .max(ctx.maxMessageLength, `must be at most ${ctx.maxMessageLength} characters`),
    ),
  });
  const idempotencyKey = z.string().min(1).max(200).optional();
  const idempotencyHeaders = z.object({
    'idempotency-key': idempotencyKey.describe(
      'A retried POST with the same key returns the stored message instead of a second one',
    ),
  });

  const createSchema = routeSchema({
    summary: 'Create a thread (the caller becomes its first member)',
    tags,
    authenticated: true,
    body: threadBody,
    responses: { 201: { description: 'Created', body: thread } },
    errors: ['invalid_request'],
  });
  app.post('/threads', { schema: createSchema }, async (request, reply) => {
    const { title } = parseWith(threadBody, request.body);
    const thread = await createThread(ctx.statements(request), title);
    return reply.code(201).send(thread);
  });

  const listSchema = routeSchema({
    summary: 'The threads the caller is a member of',
    tags,
    authenticated: true,
    responses: { 200: { description: 'Threads', body: z.object({ items: z.array(thread) }) } },
  });
  app.get('/threads', { schema: listSchema }, async (request) => ({
    items: await listThreads(ctx.statements(request)),
  }));

  const getSchema = routeSchema({
    summary: 'One thread',
    tags,
    authenticated: true,
    params,
    responses: { 200: { description: 'The thread', body: thread } },
    errors: ['not_found'],
    description: 'A thread that does not exist and one the caller is not a member of are both 404 not_found.',
  });
  app.get('/threads/:id', { schema: getSchema }, async (request) => {
    const { id } = parseWith(params, request.params);
    return getThread(ctx.statements(request), id);
  });

  const postSchema = routeSchema({
    summary: 'Post a message to a thread (broadcast to its WebSocket subscribers on every instance)',
    tags,
    authenticated: true,
    params,
    headers: idempotencyHeaders,
    body: messageBody,
    responses: { 201: { description: 'Stored', body: messageSchema } },
    errors: ['invalid_request', 'not_found'],
  });
  app.post('/threads/:id/messages', { schema: postSchema }, async (request, reply) => {
    const { id } = parseWith(params, request.params);
    if (!isUuid(id)) throw new NotFoundError('no such thread');
    const { content } = parseWith(messageBody, request.body);
    const header = request.headers['idempotency-key'];
    const key = header === undefined ? undefined : parseWith(idempotencyKey, header, 'Idempotency-Key');
    const message = await postMessage(ctx.statements(request), id, content, key);
    return reply.code(201).send(message);
  });

  const messagesSchema = routeSchema({
    summary: 'Messages of a thread, oldest first',
    tags,
    authenticated: true,
    params,
    querystring: listQuery,
    responses: { 200: { description: 'Messages', body: z.object({ items: z.array(messageSchema) }) } },
    errors: ['invalid_request', 'not_found'],
  });
  app.get('/threads/:id/messages', { schema: messagesSchema }, async (request) => {
    const { id } = parseWith(params, request.params);
    const { limit, after } = parseWith(listQuery, request.query, 'query');
    return { items: await ctx.inSession(request, (s) => listMessages(s, id, { limit, after })) };
  });
}
