import { BrokenCircuitError } from 'cockatiel';

/**
 * The root of every error Tether raises on purpose. `code` is stable and public: HTTP error bodies,
 * WebSocket error frames, metrics labels and logs all carry it.
 */
export abstract class TetherError extends Error {
  abstract readonly code: string;
  /** Whether a client may retry the same call later (maps to 503 + Retry-After). */
  readonly retryable: boolean = false;
  /** Whether the caller's own request caused it (absent, malformed, refused): logged at `info`, never `error`. */
  readonly callersFault: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The database cannot be reached or went away: refused, terminated, DNS, authentication, shutdown. */
export class DatabaseUnavailableError extends TetherError {
  readonly code = 'database_unavailable';
  override readonly retryable = true;
}

/** A statement or session ran too long: statement timeout (57014), read timeout, idle-in-transaction kill, max
 * lifetime. */
export class SessionTimeoutError extends TetherError {
  readonly code = 'session_timeout';
  override readonly retryable = true;
}

/** No connection became free within `acquireTimeoutMs` while every connection was busy. */
export class PoolExhaustedError extends TetherError {
  readonly code = 'pool_exhausted';
  override readonly retryable = true;
}

/** The circuit breaker is open after consecutive connection failures: failing fast until the cooldown ends. */
export class CircuitOpenError extends TetherError {
  readonly code = 'circuit_open';
  override readonly retryable = true;
}

/** Work that would cross users: an invalid identity, or a write refused by Row-Level Security. */
export class IsolationViolationError extends TetherError {
  readonly code = 'isolation_violation';
}

/** The session was already closed, or the factory is shutting down. */
export class SessionClosedError extends TetherError {
  readonly code = 'session_closed';
  override readonly retryable = true;
}

/** COMMIT was asked for, but an earlier statement had aborted the transaction; everything was rolled back. */
export class TransactionAbortedError extends TetherError {
  readonly code = 'transaction_aborted';
}

export type SessionErrorCode =
  | DatabaseUnavailableError['code']
  | SessionTimeoutError['code']
  | PoolExhaustedError['code']
  | CircuitOpenError['code']
  | IsolationViolationError['code']
  | SessionClosedError['code']
  | TransactionAbortedError['code'];

/** Connection exceptions, shutdown, authentication, no such database, too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123]|28|3D000|53300)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// `timeout expired`: pg destroys a connecting socket with it when `connectionTimeoutMillis` passes
const UNAVAILABLE_MESSAGE =
  /Connection terminated|not queryable|connection timeout|Connection closed|terminating connection|^timeout expired$/i;

/**
 * Maps a driver error (pg raises plain `Error`s for socket problems) to Tether's typed errors, with the driver
 * error as `cause`; Tether's own errors (the pool's `PoolExhaustedError`, …) pass through. Errors that are the
 * caller's own (a constraint violation, a syntax error) are returned unchanged.
 */
export function classifyDatabaseError(error: unknown): unknown {
  if (error instanceof TetherError) return error;
  if (error instanceof BrokenCircuitError)
    return new CircuitOpenError('database circuit breaker is open; failing fast', { cause: error });
  if (!(error instanceof Error)) return error;
  const code = (error as Error & { code?: unknown }).code;
  const message = error.message;
  if (typeof code === 'string') {
    if (code === '57014' || code === '25P03') return new SessionTimeoutError(message, { cause: error });
    if (code === '42501' && /row-level security/i.test(message))
      return new IsolationViolationError(message, { cause: error });
    if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))
      return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: error });
  }
  if (message === 'Query read timeout') return new SessionTimeoutError(message, { cause: error });
  if (UNAVAILABLE_MESSAGE.test(message))
    return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: error });
  return error;
}
