import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addMember, listMembers, removeMember } from '../../threads/index.js';
import type { ServerContext } from '../context.js';
import { routeSchema } from '../docs/index.js';
import { parseWith } from '../errors.js';

const threadParams = z.object({ id: z.string().max(100) });
const memberParams = z.object({ id: z.string().max(100), userId: z.string().max(100) });
const addBody = z.object({
  email: z
    .string({ error: 'is required' })
    .trim()
    .min(3, 'must be an email')
    .max(320, 'must be at most 320 characters'),
});
const addedMember = z.object({ threadId: z.uuid(), userId: z.uuid(), email: z.string() });
const memberList = z.object({
  items: z.array(z.object({ userId: z.uuid(), email: z.string(), addedAt: z.iso.datetime() })),
});
const tags = ['members'];

/**
 * A thread's members: any member lists and adds; a member leaves, and the creator removes anyone but themself.
 * Row-Level Security decides every case through `thread_members`.
 */
export async function memberRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post(
    '/threads/:id/members',
    {
      schema: routeSchema({
        summary: 'Add a registered user to a thread',
        tags,
        authenticated: true,
        params: threadParams,
        body: addBody,
        responses: { 201: { description: 'Added', body: addedMember } },
        errors: ['invalid_request', 'not_found', 'user_not_found', 'already_member'],
        description:
          '404 `not_found`: the thread is not visible to the caller; 404 `user_not_found`: no user has that email.',
      }),
    },
    async (request, reply) => {
      const { id } = parseWith(threadParams, request.params);
      const { email } = parseWith(addBody, request.body);
      return reply.code(201).send(await addMember(ctx.statements(request), id, email));
    },
  );

  app.get(
    '/threads/:id/members',
    {
      schema: routeSchema({
        summary: "A thread's members, the creator first",
        tags,
        authenticated: true,
        params: threadParams,
        responses: { 200: { description: 'The members', body: memberList } },
        errors: ['not_found'],
      }),
    },
    async (request) => {
      const { id } = parseWith(threadParams, request.params);
      return { items: await listMembers(ctx.statements(request), id) };
    },
  );

  app.delete(
    '/threads/:id/members/:userId',
    {
      schema: routeSchema({
        summary: 'Remove a member (yourself; or anyone, as the creator); their subscriptions end at once',
        tags,
        authenticated: true,
        params: memberParams,
        responses: { 204: { description: 'Removed', body: null } },
        errors: ['forbidden', 'not_found', 'member_not_found', 'creator_is_member'],
        description:
          '403 `forbidden`: only the creator removes other members; ' +
          '409 `creator_is_member`: the creator cannot be removed.',
      }),
    },
    async (request, reply) => {
      const { id, userId } = parseWith(memberParams, request.params);
      await removeMember(ctx.statements(request), id, userId);
      return reply.code(204).send();
    },
  );
}
