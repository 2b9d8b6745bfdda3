import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  classifyDatabaseError,
  DatabaseUnavailableError,
  IsolationViolationError,
  PoolExhaustedError,
  SessionTimeoutError,
} from '@tether/sessions';

const pgError = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('classifyDatabaseError', () => {
  it.each([
    [
      'statement timeout (57014)',
      pgError('57014', 'canceling statement due to statement timeout'),
      SessionTimeoutError,
    ],
    ['idle-in-transaction kill (25P03)', pgError('25P03'), SessionTimeoutError],
    ['query read timeout', new Error('Query read timeout'), SessionTimeoutError],
    [
      'admin shutdown (57P01)',
      pgError('57P01', 'terminating connection due to administrator command'),
      DatabaseUnavailableError,
    ],
    ['authentication failed (28P01)', pgError('28P01', 'password authentication failed'), DatabaseUnavailableError],
    ['connection refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), DatabaseUnavailableError],
    ['DNS failure', pgError('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere'), DatabaseUnavailableError],
    ['terminated connection', new Error('Connection terminated unexpectedly'), DatabaseUnavailableError],
    ['connect timeout', new Error('Connection terminated due to connection timeout'), DatabaseUnavailableError],
    ['connecting socket timed out', new Error('timeout expired'), DatabaseUnavailableError],
    ['open breaker', new BrokenCircuitError(), CircuitOpenError],
    [
      'row-level security refusal',
      pgError('42501', 'new row violates row-level security policy for table "threads"'),
      IsolationViolationError,
    ],
  ])('maps %s to its typed error, keeping the driver error as cause', (_what, driverError, type) => {
    const typed = classifyDatabaseError(driverError);
    expect(typed).toBeInstanceOf(type);
    expect((typed as Error).cause).toBe(driverError);
  });

  it("passes Tether's own typed errors through unchanged (the pool raises PoolExhaustedError itself)", () => {
    const exhausted = new PoolExhaustedError('all busy');
    expect(classifyDatabaseError(exhausted)).toBe(exhausted);
  });

  it("returns the caller's own errors unchanged", () => {
    const unique = pgError('23505', 'duplicate key value violates unique constraint');
    expect(classifyDatabaseError(unique)).toBe(unique);
    expect(classifyDatabaseError('not an error')).toBe('not an error');
  });

  it('gives every typed error a stable code and marks outages retryable', () => {
    const e = new DatabaseUnavailableError('down');
    expect([e.code, e.retryable, e.name]).toEqual(['database_unavailable', true, 'DatabaseUnavailableError']);
    expect(new IsolationViolationError('no').retryable).toBe(false);
  });
});
