import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { statusOf } from '../errors.js';

/** A zod schema as the JSON Schema of what a client sends (`input`) or receives (`output`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Error codes every authenticated route can answer (a missing, bad or ended access token). */
export const AUTH_ERRORS = [
  'token_missing',
  'token_invalid',
  'token_expired',
  'session_revoked',
  'session_expired',
] as const;
/** Every route: the per-IP limit (and per-user, per-identity ones for a signed-in caller), 429 with Retry-After. */
export const LIMIT_ERRORS = ['rate_limited'] as const;
/** Error codes of every route that reaches the database: 503 with Retry-After. */
export const DATABASE_ERRORS = ['database_unavailable', 'circuit_open', 'pool_exhausted', 'session_timeout'] as const;

export interface RouteDescription {
  readonly summary: string;
  readonly tags: readonly string[];
  readonly description?: string;
  /** Requires `Authorization: Bearer <accessToken>` (adds the token errors). */
  readonly authenticated?: boolean;
  readonly body?: z.ZodType;
  readonly params?: z.ZodType;
  readonly querystring?: z.ZodType;
  readonly headers?: z.ZodType;
  /** Success answers by status; `null` for an empty body. */
  readonly responses: Readonly<Record<number, { readonly description: string; readonly body: z.ZodType | null }>>;
  /** The error codes this route answers with, besides the token and database ones. */
  readonly errors?: readonly string[];
  /** Whether the route touches the database (adds the 503 codes); true unless said otherwise. */
  readonly database?: boolean;
}

const errorBody = (codes: readonly string[]): Record<string, unknown> => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: [...codes] }, message: { type: 'string' } },
    },
  },
});

/**
 * The fastify `schema` of a route, for documentation: `@fastify/swagger` turns it into the route's OpenAPI entry.
 * Requests are still parsed by the handlers' own zod schemas (the same objects), so the document and the checks
 * cannot drift. Every error code is listed under its HTTP status, with `Retry-After` where one is sent.
 */
export function routeSchema(route: RouteDescription): FastifySchema {
  const codes = [
    ...(route.errors ?? []),
    ...(route.body ? ['nesting_too_deep'] : []),
    ...(route.authenticated ? AUTH_ERRORS : []),
    ...(route.database === false ? [] : DATABASE_ERRORS),
    ...LIMIT_ERRORS,
    'internal_error',
  ];
  const byStatus = new Map<number, string[]>();
  for (const code of new Set(codes)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const response: Record<number, unknown> = {};
  for (const [status, { description, body }] of Object.entries(route.responses)) {
    response[Number(status)] = body ? { description, ...jsonSchema(body, 'output') } : { description, type: 'null' };
  }
  for (const [status, list] of byStatus) {
    const retry = status === 503 || status === 429;
    response[status] = {
      description: `Error codes: ${list.join(', ')}.${retry ? ' Retry after the seconds in Retry-After.' : ''}`,
      ...errorBody(list),
      ...(retry ? { headers: { 'Retry-After': { type: 'integer', description: 'seconds' } } } : {}),
    };
  }
  return {
    summary: route.summary,
    tags: [...route.tags],
    ...(route.description ? { description: route.description } : {}),
    ...(route.authenticated ? { security: [{ bearer: [] }] } : {}),
    ...(route.body ? { body: jsonSchema(route.body) } : {}),
    ...(route.params ? { params: jsonSchema(route.params) } : {}),
    ...(route.querystring ? { querystring: jsonSchema(route.querystring) } : {}),
    ...(route.headers ? { headers: jsonSchema(route.headers) } : {}),
    response,
  } as FastifySchema;
}
