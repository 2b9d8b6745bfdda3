/**
 * Baselines: a file of accepted findings' fingerprints. Scanning with `--baseline` reports only findings not
 * in it; each fingerprint in the baseline accepts as many findings as it was recorded for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../config.js';
import type { Finding } from '../rules/types.js';

export interface BaselineFile {
  readonly version: 1;
  readonly tool: 'ssot';
  readonly findings: readonly {
    readonly fingerprint: string;
    readonly rule: string;
    readonly symbol: string;
    readonly file: string;
  }[];
}

export function writeBaseline(path: string, findings: readonly Finding[]): void {
  const body: BaselineFile = {
    version: 1,
    tool: 'ssot',
    findings: findings.map((f) => ({ fingerprint: f.fingerprint, rule: f.rule, symbol: f.symbol, file: f.file })),
  };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
}

export function readBaseline(path: string): Map<string, number> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read baseline ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const findings = (value as Partial<BaselineFile> | null)?.findings;
  if (!Array.isArray(findings)) throw new ConfigError(`${path} is not an ssot baseline (no "findings" list)`);
  const counts = new Map<string, number>();
  for (const f of findings as unknown[]) {
    const fp = (f as { fingerprint?: unknown } | null)?.fingerprint;
    if (typeof fp === 'string') counts.set(fp, (counts.get(fp) ?? 0) + 1);
  }
  return counts;
}

/** Splits findings into new ones and those the baseline accepts. */
export function applyBaseline(
  findings: readonly Finding[],
  baseline: ReadonlyMap<string, number>,
): { fresh: Finding[]; accepted: number } {
  const left = new Map(baseline);
  const fresh: Finding[] = [];
  let accepted = 0;
  for (const f of findings) {
    const n = left.get(f.fingerprint) ?? 0;
    if (n > 0) {
      left.set(f.fingerprint, n - 1);
      accepted++;
    } else fresh.push(f);
  }
  return { fresh, accepted };
}
