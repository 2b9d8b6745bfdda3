import { TetherError } from './errors.js';
import { IsolationViolationError } from './errors.js';
import { sessionErrorContext, type SessionMetrics } from './session-metrics.js';

/** pino-compatible: `logger.warn({ ...context }, 'message')`. */
export interface SessionLogger {
  /** Optional: the audit line of every privileged session goes here when the logger has it. */
  debug?(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** A logger that drops everything: the default when none is given. */
export const silentLogger: SessionLogger = { info() {}, warn() {}, error() {} };

/** SQLSTATE classes of errors in the caller's input: 22 data exception, 23 integrity constraint violation. */
const CALLER_SQLSTATE = /^(22|23)/;

/**
 * Whose problem a failure is: `info` for the caller's own (Row-Level Security refusals, constraint and data
 * errors, typed errors marked `callersFault` such as a 404: an attacker can cause these at will), `warn` for
 * database trouble that clears by itself, `error` for everything else.
 */
export function failureLevel(error: unknown): 'info' | 'warn' | 'error' {
  if (error instanceof IsolationViolationError) return 'info';
  if (error instanceof TetherError) return error.callersFault ? 'info' : error.retryable ? 'warn' : 'error';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CALLER_SQLSTATE.test(code) ? 'info' : 'error';
}

/** One line per failed session, at the level `failureLevel` gives. Never throws. */
export function logFailure(logger: SessionLogger, metrics: SessionMetrics, error: unknown, message: string): void {
  try {
    logger[failureLevel(error)]({ session: sessionErrorContext(metrics, error) }, message);
  } catch {
    // logging must never replace the error being reported
  }
}
