import { describe, expect, it } from 'vitest';
import { runOutageScenario } from '@tether/testing';

// The database goes away for five seconds while HTTP and WebSocket clients keep writing (issue: reliability).
describe('database outage under load', () => {
  it('answers every write with an ack or a typed error, loses and duplicates nothing, recovers by itself', async () => {
    const report = await runOutageScenario({
      httpWriters: 4,
      wsWriters: 3,
      warmupMs: 1_000,
      outageMs: 5_000,
      afterMs: 1_000,
    });
    console.log(JSON.stringify(report));
    expect(report.crashes).toBe(0);
    expect(report.acked).toBeGreaterThan(50);
    expect(report.typedErrors).toBeGreaterThan(0);
    expect(report.untypedSamples).toEqual([]);
    expect(report.untypedErrors).toBe(0);
    expect(report.unanswered).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.breakerTrips).toBeGreaterThanOrEqual(1);
    expect(report.breakerClosedAtEnd).toBe(true);
    expect(report.activeSessionsAtEnd).toBe(0);
    expect(report.recoveryS).toBeLessThan(5);
  }, 60_000);
});
