import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  sessionErrorContext,
  snapshotSessionMetrics,
  type SessionErrorContext,
  type SessionMetrics,
} from '@tether/sessions';

// Counterparts of the seed's unit tests. The seed proved that an error handler read fields its
// SessionMetrics did not have; these prove that here it cannot: at compile time, and at run time.

// both packages' sources: the session layer and the service that uses it
const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));
const srcDirs = ['sessions/src', 'tether/src'].map((d) => path.join(packagesDir, d));
/** A definition (class, interface or type) named SessionMetrics, exported or not. */
const SESSION_METRICS_DEFINITION = new RegExp(
  String.raw`^\s*(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?` +
    String.raw`(?:class|interface|type)\s+SessionMetrics\b\s*(?:[={<]|extends|implements)`,
  'gm',
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

function exportedTypeNames(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const file of srcDirs.flatMap(sourceFiles)) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|interface|type|enum)\s+(\w+)/gm,
    )) {
      const name = match[1] as string;
      where.set(name, [...(where.get(name) ?? []), path.relative(packagesDir, file)]);
    }
  }
  return where;
}

const sample = (): SessionMetrics => ({
  sessionId: 's-1',
  requestId: 'r-1',
  userId: 'u-1',
  threadId: null,
  state: 'error',
  createdAt: 1_000,
  lastActivityAt: 1_500,
  closedAt: 2_000,
  queryCount: 3,
  transactionCount: 1,
  errorCount: 1,
  lastError: { code: 'database_unavailable', message: 'down' },
  totalTimeMs: 1_000,
});

describe('session metrics ssot validation', () => {
  it("session metrics field access consistency: the bug's fields do not type-check, the context has all", () => {
    const metrics = sample();
    // @ts-expect-error the original bug read last_activity; the field is lastActivityAt
    void metrics.last_activity;
    // @ts-expect-error the original bug read operations_count; the field is queryCount
    void metrics.operations_count;
    // @ts-expect-error the original bug read errors; the field is errorCount
    void metrics.errors;

    const context = sessionErrorContext(metrics, new Error('boom'), 3_000);
    const declared: Array<keyof SessionMetrics> = [
      'sessionId',
      'requestId',
      'userId',
      'threadId',
      'state',
      'createdAt',
      'lastActivityAt',
      'closedAt',
      'queryCount',
      'transactionCount',
      'errorCount',
      'lastError',
      'totalTimeMs',
    ];
    for (const field of declared) {
      expect(context).toHaveProperty(field);
      expect(context[field as keyof SessionErrorContext]).toEqual(metrics[field]);
    }
    expect(Object.values(context).some((v) => v === undefined)).toBe(false);
    expect(context).toMatchObject({ ageMs: 2_000, errorCode: 'Error', errorMessage: 'boom' });
  });

  it('request scoped session factory error field access: the error context never throws, whatever the input', () => {
    const hostile = {
      get message(): string {
        throw new Error('getter throws');
      },
      code: 7,
    };
    const halfBuilt = { sessionId: 's-2' } as Partial<SessionMetrics>;
    const closed = { ...sample(), state: 'closed' as const };
    const inputs: Array<[Partial<SessionMetrics> | null | undefined, unknown]> = [
      [undefined, undefined],
      [null, null],
      [halfBuilt, 'text error'],
      [closed, hostile],
      [{ createdAt: Number.NaN } as Partial<SessionMetrics>, 42],
      [JSON.parse('{"lastError": {"code": 5}}') as Partial<SessionMetrics>, Object.create(null)],
    ];
    for (const [metrics, error] of inputs) {
      let context: SessionErrorContext | undefined;
      expect(() => (context = sessionErrorContext(metrics, error, 10_000))).not.toThrow();
      expect(Object.values(context!).some((v) => v === undefined)).toBe(false);
    }
    expect(sessionErrorContext(halfBuilt, 'text error', 10_000)).toMatchObject({
      sessionId: 's-2',
      requestId: 'unknown',
      queryCount: 0,
      errorMessage: 'text error',
    });
    expect(sessionErrorContext(closed, hostile, 10_000)).toMatchObject({
      state: 'closed',
      errorCode: '7',
      totalTimeMs: 1_000,
    });
    const unreadable = Object.defineProperty({ sessionId: 's-3' }, 'createdAt', {
      get(): never {
        throw new Error('getter throws');
      },
    }) as Partial<SessionMetrics>;
    const placeholders = sessionErrorContext(unreadable, new Error('boom'), 10_000);
    expect(Object.values(placeholders).some((v) => v === undefined)).toBe(false);
    expect(placeholders).toMatchObject({
      sessionId: 'unknown',
      state: 'error',
      createdAt: 10_000,
      ageMs: 0,
      errorCode: 'Error',
      errorMessage: 'boom',
    });
  });

  it('session metrics interface compatibility: SessionMetrics and SessionState are defined once', () => {
    const names = exportedTypeNames();
    expect(names.get('SessionMetrics')).toEqual(['sessions/src/session-metrics.ts']);
    expect(names.get('SessionState')).toEqual(['sessions/src/session-metrics.ts']);
    const everywhere = srcDirs
      .flatMap(sourceFiles)
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(SESSION_METRICS_DEFINITION)].map(() => f));
    expect(everywhere).toHaveLength(1);
  });

  it('session metrics purpose mismatch: other concepts have their own names; no two exported types share one', () => {
    const names = exportedTypeNames();
    const duplicates = [...names].filter(([, files]) => files.length > 1);
    expect(duplicates).toEqual([]);
    expect(names.get('PoolMetrics')).toEqual(['sessions/src/pool-metrics.ts']);
    // a snapshot is a copy: later changes to the live session do not show in it
    const live = sample();
    live.closedAt = null;
    const copy = snapshotSessionMetrics(live, 5_000);
    live.queryCount = 99;
    expect(copy.queryCount).toBe(3);
    expect(copy.totalTimeMs).toBe(4_000);
  });
});
