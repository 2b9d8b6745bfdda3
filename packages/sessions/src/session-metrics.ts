/**
 * The one definition of a session's state and measurements. Every other part of Tether (logs, the admin API,
 * the dashboard, Prometheus) reads sessions through this type; nothing else in the codebase is named
 * `SessionMetrics`. Times are epoch milliseconds; durations are milliseconds.
 */
export type SessionState = 'created' | 'active' | 'idle' | 'committed' | 'rolled_back' | 'closing' | 'closed' | 'error';

export interface SessionErrorSummary {
  readonly code: string;
  readonly message: string;
}

export interface SessionMetrics {
  readonly sessionId: string;
  readonly requestId: string;
  /** The user the session acts for; `system` or `service:<name>` for privileged work; null when anonymous. */
  readonly userId: string | null;
  readonly threadId: string | null;
  state: SessionState;
  readonly createdAt: number;
  lastActivityAt: number;
  closedAt: number | null;
  queryCount: number;
  transactionCount: number;
  errorCount: number;
  lastError: SessionErrorSummary | null;
  /** Milliseconds from creation to close (or to now, while open). */
  totalTimeMs: number;
}

export function createSessionMetrics(
  sessionId: string,
  requestId: string,
  userId: string | null,
  threadId: string | null,
  now: number,
): SessionMetrics {
  return {
    sessionId,
    requestId,
    userId,
    threadId,
    state: 'created',
    createdAt: now,
    lastActivityAt: now,
    closedAt: null,
    queryCount: 0,
    transactionCount: 0,
    errorCount: 0,
    lastError: null,
    totalTimeMs: 0,
  };
}

/** A copy safe to hand out (admin API, dashboard): live sessions keep changing under the original. */
export function snapshotSessionMetrics(metrics: SessionMetrics, now: number = Date.now()): SessionMetrics {
  return { ...metrics, totalTimeMs: metrics.closedAt === null ? now - metrics.createdAt : metrics.totalTimeMs };
}

/**
 * The log context of a failing session. Built field by field from the `SessionMetrics` type, so a field that
 * does not exist (`last_activity`, `operations_count`, `errors`: the original bug) fails to compile.
 */
export interface SessionErrorContext {
  readonly sessionId: string;
  readonly requestId: string;
  readonly userId: string | null;
  readonly threadId: string | null;
  readonly state: SessionState;
  readonly createdAt: number;
  readonly lastActivityAt: number;
  readonly closedAt: number | null;
  readonly queryCount: number;
  readonly transactionCount: number;
  readonly errorCount: number;
  readonly lastError: SessionErrorSummary | null;
  readonly totalTimeMs: number;
  readonly ageMs: number;
  readonly errorCode: string;
  readonly errorMessage: string;
}

const UNKNOWN = 'unknown';

/**
 * Never throws, whatever it is given (a half-built, closed or foreign object): an error handler that raises
 * would mask the error it reports. Every field is present; none is `undefined`.
 */
export function sessionErrorContext(
  metrics: Partial<SessionMetrics> | null | undefined,
  error: unknown,
  now: number = Date.now(),
): SessionErrorContext {
  const m: Partial<SessionMetrics> = metrics && typeof metrics === 'object' ? metrics : {};
  const num = (value: unknown, fallback: number): number =>
    typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  const str = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
  const strOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  let errorCode = UNKNOWN;
  let errorMessage = UNKNOWN;
  try {
    if (error && typeof error === 'object') {
      const e = error as { code?: unknown; message?: unknown };
      errorCode =
        e.code === undefined || e.code === null ? (error instanceof Error ? error.name : UNKNOWN) : String(e.code);
      errorMessage = typeof e.message === 'string' ? e.message : String(error);
    } else if (error !== undefined) {
      errorMessage = String(error);
    }
  } catch {
    // a hostile toString or getter: keep the placeholders
  }
  try {
    const createdAt = num(m.createdAt, now);
    const closedAt = typeof m.closedAt === 'number' ? m.closedAt : null;
    const lastError =
      m.lastError && typeof m.lastError === 'object'
        ? { code: str(m.lastError.code, UNKNOWN), message: str(m.lastError.message, UNKNOWN) }
        : null;
    return {
      sessionId: str(m.sessionId, UNKNOWN),
      requestId: str(m.requestId, UNKNOWN),
      userId: strOrNull(m.userId),
      threadId: strOrNull(m.threadId),
      state: typeof m.state === 'string' ? m.state : 'error',
      createdAt,
      lastActivityAt: num(m.lastActivityAt, createdAt),
      closedAt,
      queryCount: num(m.queryCount, 0),
      transactionCount: num(m.transactionCount, 0),
      errorCount: num(m.errorCount, 0),
      lastError,
      totalTimeMs: closedAt === null ? now - createdAt : num(m.totalTimeMs, closedAt - createdAt),
      ageMs: now - createdAt,
      errorCode,
      errorMessage,
    };
  } catch {
    return {
      ...createSessionMetrics(UNKNOWN, UNKNOWN, null, null, now),
      state: 'error',
      ageMs: 0,
      errorCode,
      errorMessage,
    };
  }
}
