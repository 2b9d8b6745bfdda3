import type { z } from 'zod';
import { TetherError } from '../errors.js';
import { RateLimitedError } from '../auth/index.js';

/** A request body, parameter or frame that does not fit its schema. */
export class ValidationError extends TetherError {
  readonly code = 'invalid_request';
  override readonly callersFault = true;
}

/** Absent, or someone else's (Row-Level Security makes the two look alike, on purpose). */
export class NotFoundError extends TetherError {
  readonly code = 'not_found';
  override readonly callersFault = true;
}

/** Authenticated, but not allowed (the admin API for a non-admin). */
export class ForbiddenError extends TetherError {
  readonly code = 'forbidden';
  override readonly callersFault = true;
}

/** A WebSocket frame that is not JSON or not a known type. */
export class InvalidFrameError extends TetherError {
  readonly code = 'invalid_frame';
  override readonly callersFault = true;
}

/** HTTP status of every error code; retryable codes (database trouble) answer 503 with Retry-After. */
const STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400,
  invalid_frame: 400,
  nesting_too_deep: 400,
  invalid_credentials: 401,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  session_revoked: 401,
  session_expired: 401,
  refresh_token_invalid: 401,
  refresh_token_reused: 401,
  forbidden: 403,
  isolation_violation: 403,
  not_found: 404,
  user_not_found: 404,
  member_not_found: 404,
  email_taken: 409,
  already_member: 409,
  creator_is_member: 409,
  session_limit_reached: 429,
  rate_limited: 429,
  transaction_aborted: 500,
  database_unavailable: 503,
  circuit_open: 503,
  pool_exhausted: 503,
  session_timeout: 503,
  session_closed: 503,
};

/** The HTTP status an error code is answered with. */
export function statusOf(code: string): number {
  return STATUS[code] ?? (code === 'payload_too_large' ? 413 : code === 'unsupported_media_type' ? 415 : 500);
}

/** What a client is told: a stable code, a status, a message, and when to retry. */
export interface ErrorReply {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSeconds: number | null;
}

/**
 * The one mapping from errors to replies, for HTTP responses and WebSocket error frames alike. Unknown errors
 * become `internal_error` with a message that reveals nothing.
 */
export function errorReply(error: unknown, breakerCooldownMs = 5_000): ErrorReply {
  if (error instanceof TetherError) {
    const status = STATUS[error.code] ?? (error.retryable ? 503 : 500);
    const retryAfterSeconds =
      error instanceof RateLimitedError
        ? error.retryAfterSeconds
        : error.retryable
          ? error.code === 'circuit_open'
            ? Math.max(1, Math.ceil(breakerCooldownMs / 1000))
            : 1
          : null;
    return {
      status,
      code: error.code,
      message: status >= 500 && !error.retryable ? 'internal error' : error.message,
      retryAfterSeconds,
    };
  }
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  // fastify's own client errors: malformed JSON, wrong content type, body too large
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code =
      e.statusCode === 413 ? 'payload_too_large' : e.statusCode === 415 ? 'unsupported_media_type' : 'invalid_request';
    return {
      status: e.statusCode,
      code,
      message: typeof e.message === 'string' ? e.message : 'bad request',
      retryAfterSeconds: null,
    };
  }
  return { status: 500, code: 'internal_error', message: 'internal error', retryAfterSeconds: null };
}

/**
 * Text PostgreSQL cannot store as sent: NUL (not allowed in `text`; the insert fails) and unpaired UTF-16 surrogates
 * (not Unicode; they would be stored as U+FFFD and read back changed). Refused as bad input, never a 500.
 */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `text` can be stored and read back unchanged (see `storable`). */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text);
}

/** A string schema that also refuses NUL characters and unpaired surrogates, with a 400 that says so. */
export function storable<S extends z.ZodType<string>>(schema: S): S {
  return schema.refine(isStorableText, 'must not contain NUL characters or unpaired surrogates') as unknown as S;
}

/** Parses `value` with a zod schema, or fails with a 400 naming the first problem (`title: must not be empty`). */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what = 'body'): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : what;
  throw new ValidationError(`${where}: ${issue?.message ?? 'invalid'}`);
}
