import type { BreakerState } from '@tether/sessions';

/** The error codes that mean the database could not be reached (not a slow or refused statement). */
const UNREACHABLE_CODES = ['database_unavailable', 'circuit_open'] as const;

export interface DatabaseStatus {
  readonly status: 'up' | 'down';
  /** When it became so (epoch ms). */
  readonly since: number;
  /** Why it is down: the breaker's state or the error code seen. */
  readonly reason: string | null;
}

/** What one sample of the session layer (and perhaps a probe) says about the database. */
export interface DatabaseEvidence {
  readonly at: number;
  readonly breakerState: BreakerState;
  /** Sessions that obtained a connection since the previous sample. */
  readonly opened: number;
  /** Sessions that failed because the database was unreachable since the previous sample. */
  readonly unreachable: number;
  /** The result of a `SELECT 1` probe, when one finished since the previous sample. */
  readonly probe?: { readonly ok: boolean; readonly code: string | null };
}

/** Counts of the unreachable codes in a `PoolMetrics.errorsByCode`. */
export function unreachableCount(errorsByCode: Readonly<Record<string, number>>): number {
  return UNREACHABLE_CODES.reduce((sum, code) => sum + (errorsByCode[code] ?? 0), 0);
}

/**
 * Down while the breaker is not closed, or while sessions fail to connect and none succeeds, or when a probe
 * fails; up again when a session gets a connection or a probe succeeds with the breaker closed.
 */
export class DatabaseStatusTracker {
  private current: DatabaseStatus = { status: 'up', since: Date.now(), reason: null };

  get status(): DatabaseStatus {
    return this.current;
  }

  observe(evidence: DatabaseEvidence): DatabaseStatus {
    const { breakerState, opened, unreachable, probe } = evidence;
    let next: { status: 'up' | 'down'; reason: string | null } | null = null;
    if (breakerState !== 'closed')
      next = { status: 'down', reason: `circuit breaker ${breakerState.replace('_', '-')}` };
    else if (unreachable > 0 && opened === 0) next = { status: 'down', reason: 'database_unavailable' };
    else if (probe && !probe.ok) next = { status: 'down', reason: probe.code ?? 'database_unavailable' };
    else if (opened > 0 || probe?.ok) next = { status: 'up', reason: null };
    if (next && (next.status !== this.current.status || next.reason !== this.current.reason)) {
      this.current = { ...next, since: next.status === this.current.status ? this.current.since : evidence.at };
    }
    return this.current;
  }
}
