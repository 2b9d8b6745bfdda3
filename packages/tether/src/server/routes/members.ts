import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addMember, listMembers, removeMember } from '../../threads/index.js';
import type { ServerContext } from '../context.js';
import { routeSchema } from '../docs/index.js';
import { parseWith } from '../errors.js';

const threadParams = z.object({ id: z.string().max(100).describe('thread id (UUID)') });
const memberParams = z.object({ id: z.string().max(100).describe('thread id (UUID)'), userId: z.string().max(100).describe('the member to remove (UUID)') });
const addBody = z.object({
  email: z.string({ error: 'is required' }).trim().min(3, 'must be an email').max(320, 'must be at most 320 characters').describe('a registered user (case-insensitive)'),
});
const addedMember = z.object({ threadId: z.uuid(), userId: z.uuid(), email: z.string() });
const memberList = z.object({ items: z.array(z.object({ userId: z.uuid(), email: z.string(), addedAt: z.iso.datetime() })) });
const tags = ['members'];
const hidden = 'A thread that does not exist and one the caller is not a member of are both 404 not_found.';

const addSchema = routeSchema({
  summary: 'Add a registered user to a thread (any member may)',
  tags,
  authenticated: true,
  params: threadParams,
  body: addBody,
  responses: { 201: { description: 'Added', body: addedMember } },
  errors: ['invalid_request', 'not_found', 'user_not_found', 'already_member'],
  description: `${hidden} An email no user registered with is 404 user_not_found; a member already there is 409 already_member.`,
});
const listSchema = routeSchema({
  summary: "A thread's members, in the order they joined (the creator first)",
  tags,
  authenticated: true,
  params: threadParams,
  responses: { 200: { description: 'Members', body: memberList } },
  errors: ['not_found'],
  description: hidden,
});
const removeSchema = routeSchema({
  summary: 'Remove a member: yourself, or anyone but yourself as the creator',
  tags,
  authenticated: true,
  params: memberParams,
  responses: { 204: { description: 'Removed; their subscriptions end at once on every instance (error frame membership_revoked)', body: null } },
  errors: ['not_found', 'member_not_found', 'forbidden', 'creator_is_member'],
  description: `${hidden} Not a member: 404 member_not_found; another member, removed by a non-creator: 403 forbidden; the creator: 409 creator_is_member.`,
});

/** A thread's members. Row-Level Security decides every case through `thread_members`; see threads/members.ts. */
export async function memberRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/threads/:id/members', { preHandler: ctx.authenticate, schema: addSchema }, async (request, reply) => {
    const { id } = parseWith(threadParams, request.params);
    const { email } = parseWith(addBody, request.body);
    return reply.code(201).send(await addMember(ctx.statements(request), id, email));
  });

  app.get('/threads/:id/members', { preHandler: ctx.authenticate, schema: listSchema }, async (request) => {
    const { id } = parseWith(threadParams, request.params);
    return { items: await listMembers(ctx.statements(request), id) };
  });

  app.delete('/threads/:id/members/:userId', { preHandler: ctx.authenticate, schema: removeSchema }, async (request, reply) => {
    const { id, userId } = parseWith(memberParams, request.params);
    await removeMember(ctx.statements(request), id, userId);
    return reply.code(204).send();
  });
}
