import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseWith, storable } from '../errors.js';
import { principalOf, type ServerContext } from '../context.js';
import { beforeBody } from '../limits/index.js';
import { routeSchema } from '../docs/index.js';

const credentials = z.object({
  // RFC 5321: a path holds at most 256 octets with its angle brackets, so an address at most 254
  email: storable(z.string().trim().max(254, 'must be at most 254 characters')).pipe(
    z.email('must be an email address'),
  ),
  password: storable(z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters')),
});
const loginBody = z.object({
  email: storable(z.string().trim().min(1, 'is required').max(320)),
  password: z.string().min(1, 'is required').max(1024),
});
const refreshBody = z.object({ refreshToken: z.string({ error: 'is required' }).min(1, 'is required').max(512) });
const logoutBody = z.object({
  all: z.boolean().optional().describe('true: end every login of the caller, not only this one'),
});

const tokens = z.object({
  accessToken: z.string().describe('JWT for `Authorization: Bearer …` and the WebSocket'),
  refreshToken: z.string().describe('single use: POST /auth/refresh returns a new one'),
  expiresIn: z.number().int().describe('seconds until the access token expires'),
  sessionId: z.uuid().describe('the login session'),
});
const loginSession = z.object({
  id: z.uuid(),
  current: z.boolean(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  revokedReason: z.string().nullable(),
  userAgent: z.string().nullable(),
  websocketIds: z.array(z.string()),
});
const tags = ['auth'];

/** `/auth/*` for anyone: register, login, refresh (rotation). */
export async function authRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  // each costs a password hash: counted per address before the body is read
  const credentialsPerIp = beforeBody((request) => ctx.limits.checkCredentials(request.ip));

  const registerSchema = routeSchema({
    summary: 'Register a user',
    tags,
    body: credentials,
    responses: {
      201: { description: 'Registered', body: z.object({ user: z.object({ id: z.uuid(), email: z.string() }) }) },
    },
    errors: ['invalid_request', 'email_taken'],
  });
  app.post('/auth/register', { schema: registerSchema, onRequest: credentialsPerIp }, async (request, reply) => {
    const { email, password } = parseWith(credentials, request.body);
    const user = await ctx.auth.register(email, password, { requestId: request.id, clientAddress: request.ip });
    return reply.code(201).send({ user: { id: user.id, email: user.email } });
  });

  const loginSchema = routeSchema({
    summary: 'Log in: a new login session and its tokens',
    tags,
    body: loginBody,
    responses: { 200: { description: 'Logged in', body: tokens } },
    errors: ['invalid_request', 'invalid_credentials', 'rate_limited', 'session_limit_reached'],
  });
  app.post('/auth/login', { schema: loginSchema, onRequest: credentialsPerIp }, async (request) => {
    const { email, password } = parseWith(loginBody, request.body);
    return ctx.auth.login(email, password, {
      requestId: request.id,
      userAgent: request.headers['user-agent'] ?? null,
      clientAddress: request.ip,
    });
  });

  const refreshSchema = routeSchema({
    summary: 'Trade a refresh token for new tokens (rotation: reusing an old one revokes the login session)',
    tags,
    body: refreshBody,
    responses: { 200: { description: 'New tokens', body: tokens } },
    errors: ['invalid_request', 'refresh_token_invalid', 'refresh_token_reused', 'session_revoked', 'session_expired'],
  });
  app.post('/auth/refresh', { schema: refreshSchema }, async (request) => {
    const { refreshToken } = parseWith(refreshBody, request.body);
    return ctx.auth.refresh(refreshToken, { requestId: request.id });
  });
}

/** `/auth/*` for an authenticated caller (see `authenticatedRoutes`): logout of one login or all, the caller's logins.
 * */
export async function loginRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const logoutSchema = routeSchema({
    summary: "Log out this login session, or all of the caller's",
    tags,
    authenticated: true,
    body: logoutBody,
    responses: { 204: { description: 'Logged out', body: null } },
    errors: ['invalid_request'],
  });
  app.post('/auth/logout', { schema: logoutSchema }, async (request, reply) => {
    const { all } = parseWith(logoutBody, request.body);
    await ctx.auth.logout(principalOf(request), all === true);
    return reply.code(204).send();
  });

  const sessionsSchema = routeSchema({
    summary: "The caller's login sessions",
    tags,
    authenticated: true,
    responses: { 200: { description: 'Login sessions', body: z.object({ items: z.array(loginSession) }) } },
  });
  app.get('/auth/sessions', { schema: sessionsSchema }, async (request) => {
    const principal = principalOf(request);
    const sessions = await ctx.logins.list(principal.userId);
    return {
      items: sessions.map((s) => ({
        id: s.id,
        current: s.id === principal.sessionId,
        createdAt: new Date(s.createdAt).toISOString(),
        lastSeenAt: new Date(s.lastSeenAt).toISOString(),
        expiresAt: new Date(s.expiresAt).toISOString(),
        revokedAt: s.revokedAt === null ? null : new Date(s.revokedAt).toISOString(),
        revokedReason: s.revokedReason,
        userAgent: s.userAgent,
        websocketIds: s.websocketIds,
      })),
    };
  });
}
