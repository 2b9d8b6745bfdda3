import { describe, expect, it } from 'vitest';
import { AuthenticationError, EmailTakenError, RateLimitedError } from 'tether/auth';
import { errorReply, ForbiddenError, InvalidFrameError, NotFoundError, ValidationError } from 'tether/server';
import {
  CircuitOpenError,
  DatabaseUnavailableError,
  IsolationViolationError,
  PoolExhaustedError,
  SessionTimeoutError,
  TransactionAbortedError,
} from '@tether/sessions';
import { LoginLimitError } from 'tether/logins';

describe('one mapping from errors to HTTP statuses and WebSocket error frames', () => {
  it.each([
    [new ValidationError('title: must not be empty'), 400, 'invalid_request'],
    [new InvalidFrameError('frame is not JSON'), 400, 'invalid_frame'],
    [new AuthenticationError('token_expired', 'expired'), 401, 'token_expired'],
    [new AuthenticationError('session_revoked', 'revoked'), 401, 'session_revoked'],
    [new ForbiddenError('admins only'), 403, 'forbidden'],
    [new IsolationViolationError('crossing users'), 403, 'isolation_violation'],
    [new NotFoundError('no such thread'), 404, 'not_found'],
    [new EmailTakenError('taken'), 409, 'email_taken'],
    [new LoginLimitError('too many'), 429, 'session_limit_reached'],
  ])('%s answers %i %s without Retry-After', (error, status, code) => {
    expect(errorReply(error)).toEqual({ status, code, message: error.message, retryAfterSeconds: null });
  });

  it.each([
    [new DatabaseUnavailableError('refused'), 'database_unavailable', 1],
    [new PoolExhaustedError('busy'), 'pool_exhausted', 1],
    [new SessionTimeoutError('slow'), 'session_timeout', 1],
    [new CircuitOpenError('open'), 'circuit_open', 3],
  ])('database trouble (%s) answers 503 with its code and Retry-After', (error, code, retryAfterSeconds) => {
    expect(errorReply(error, 2_500)).toMatchObject({ status: 503, code, retryAfterSeconds });
  });

  it('tells a rate-limited client when to come back', () => {
    expect(errorReply(new RateLimitedError('slow down', 42))).toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfterSeconds: 42,
    });
  });

  it('reveals nothing of unexpected errors', () => {
    expect(errorReply(new TypeError("Cannot read properties of undefined (reading 'last_activity')"))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'internal error',
      retryAfterSeconds: null,
    });
    expect(errorReply(new TransactionAbortedError('aborted'))).toMatchObject({
      status: 500,
      code: 'transaction_aborted',
      message: 'internal error',
    });
    expect(errorReply('a string')).toMatchObject({ status: 500, code: 'internal_error' });
  });

  it("keeps fastify's own client errors (bad JSON, too large) as 4xx", () => {
    expect(errorReply(Object.assign(new Error('Body is too large'), { statusCode: 413 }))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    expect(errorReply(Object.assign(new Error('bad json'), { statusCode: 400 }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });
});
