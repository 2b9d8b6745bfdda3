/**
 * npm run bench:reliability — a five-second database outage under HTTP and WebSocket write load, reported as a
 * table and, on the last line, one JSON object. Every fault is real: the embedded PostgreSQL is stopped and
 * started again on the same port.
 */
import { runOutageScenario } from '@tether/harness';

const report = await runOutageScenario({
  httpWriters: Number(process.env.BENCH_HTTP_WRITERS ?? 8),
  wsWriters: Number(process.env.BENCH_WS_WRITERS ?? 8),
  warmupMs: 3_000,
  outageMs: Number(process.env.BENCH_OUTAGE_MS ?? 5_000),
  afterMs: 3_000,
});

const rows: Array<[string, string]> = [
  ['writes', String(report.writes)],
  ['acknowledged', String(report.acked)],
  ['lost (acknowledged, row missing)', String(report.lost)],
  ['duplicated', String(report.duplicated)],
  ['typed errors (503 / error frame)', String(report.typedErrors)],
  ['untyped errors', String(report.untypedErrors)],
  ['unanswered WebSocket frames', String(report.unanswered)],
  ['crashes', String(report.crashes)],
  ['recovery after restart (s)', report.recoveryS.toFixed(3)],
  ['write latency outside the outage p50 / p99 (ms)', `${report.p50Ms.toFixed(1)} / ${report.p99Ms.toFixed(1)}`],
  ['breaker trips (incl. failed half-open probes)', String(report.breakerTrips)],
  ['breaker closed at the end', String(report.breakerClosedAtEnd)],
  ['sessions open at the end', String(report.activeSessionsAtEnd)],
];
const width = Math.max(...rows.map(([k]) => k.length));
const outageS = Number(process.env.BENCH_OUTAGE_MS ?? 5_000) / 1_000;
console.log(`database outage of ${outageS.toFixed(1)} s under load, node ${process.version}`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
console.log(`errors by code: ${JSON.stringify(report.errorsByCode)}`);
console.log(
  JSON.stringify({
    writes: report.writes,
    acked: report.acked,
    lost: report.lost,
    duplicated: report.duplicated,
    typed_errors: report.typedErrors,
    untyped_errors: report.untypedErrors,
    unanswered: report.unanswered,
    crashes: report.crashes,
    recovery_s: report.recoveryS,
    p50_ms: report.p50Ms,
    p99_ms: report.p99Ms,
    breaker_trips: report.breakerTrips,
  }),
);
