import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addMember, listMembers, removeMember } from '../../threads/index.js';
import type { ServerContext } from '../context.js';
import { parseWith } from '../errors.js';

const threadParams = z.object({ id: z.string().max(100) });
const memberParams = z.object({ id: z.string().max(100), userId: z.string().max(100) });
const addBody = z.object({ email: z.string({ error: 'is required' }).trim().min(3, 'must be an email').max(320, 'must be at most 320 characters') });
const addedMember = z.object({ threadId: z.uuid(), userId: z.uuid(), email: z.string() });
const memberList = z.object({ items: z.array(z.object({ userId: z.uuid(), email: z.string(), addedAt: z.iso.datetime() })) });
const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** A zod schema as the JSON Schema (draft 7) fastify and its OpenAPI generator read. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}

const errorReply = (description: string) => ({ description, ...jsonSchema(errorBody) });
const authErrors = {
  401: errorReply('token missing, invalid or expired, or its login revoked'),
  503: errorReply('database unavailable (with Retry-After)'),
};
const threadHidden = errorReply('`not_found`: no such thread, or the caller is not a member');

/**
 * A thread's members: any member lists and adds; a member leaves, and the creator removes anyone but themself.
 * Row-Level Security decides every case through `thread_members`.
 */
export async function memberRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/threads/:id/members', {
    schema: {
      summary: 'Add a registered user to a thread',
      params: jsonSchema(threadParams),
      body: jsonSchema(addBody),
      response: {
        201: { description: 'added', ...jsonSchema(addedMember) },
        400: errorReply('`invalid_request`: no email'),
        404: errorReply('`not_found`: the thread is not visible; `user_not_found`: no user has that email'),
        409: errorReply('`already_member`'),
        ...authErrors,
      },
    },
  }, async (request, reply) => {
    const { id } = parseWith(threadParams, request.params);
    const { email } = parseWith(addBody, request.body);
    return reply.code(201).send(await addMember(ctx.statements(request), id, email));
  });

  app.get('/threads/:id/members', {
    schema: {
      summary: "A thread's members, the creator first",
      params: jsonSchema(threadParams),
      response: { 200: { description: 'the members', ...jsonSchema(memberList) }, 404: threadHidden, ...authErrors },
    },
  }, async (request) => {
    const { id } = parseWith(threadParams, request.params);
    return { items: await listMembers(ctx.statements(request), id) };
  });

  app.delete('/threads/:id/members/:userId', {
    schema: {
      summary: 'Remove a member (yourself; or anyone, as the creator); their subscriptions end at once',
      params: jsonSchema(memberParams),
      response: {
        204: { description: 'removed', type: 'null' },
        403: errorReply('`forbidden`: only the creator removes other members'),
        404: errorReply('`not_found`: the thread is not visible; `member_not_found`: not a member'),
        409: errorReply('`creator_is_member`: the creator cannot be removed'),
        ...authErrors,
      },
    },
  }, async (request, reply) => {
    const { id, userId } = parseWith(memberParams, request.params);
    await removeMember(ctx.statements(request), id, userId);
    return reply.code(204).send();
  });
}
