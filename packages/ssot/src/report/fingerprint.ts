import { createHash } from 'node:crypto';
import type { Finding, RawFinding } from '../rules/types.js';

/**
 * Fingerprints name what a finding is about (rule, module, scope, symbol, attribute), never its line, so they
 * survive code moving around. Findings with the same identity are told apart by their order in the file.
 */
export function addFingerprints(raw: readonly RawFinding[]): Finding[] {
  const seen = new Map<string, number>();
  return raw.map(({ identity, ...finding }) => {
    const key = [finding.rule, ...identity].join('\u0000');
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const fingerprint = createHash('sha256').update(`${key}\u0000${n}`).digest('hex').slice(0, 24);
    return { ...finding, fingerprint };
  });
}
