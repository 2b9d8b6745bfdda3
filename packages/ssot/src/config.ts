/**
 * The config file (`ssot.config.json` at the scan root, or `--config FILE`). Every key is optional:
 *
 * ```json
 * { "include": ["src/**"], "exclude": ["**\/fixtures/**"], "criticalNames": ["SessionMetrics", "*Config"],
 *   "allowDuplicateNames": ["Settings"], "rules": { "inconsistent-import": "note", "duplicate-definition": "off" } }
 * ```
 * `include` and `exclude` use .gitignore syntax, relative to the scan root. `generated` (same syntax) lists generated,
 * frozen and vendored code that is skipped like `node_modules` (default: DEFAULT_GENERATED; `[]` scans it all).
 * `compareUnconnected` compares same-named definitions in parts of the code base that never import each other.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULE_IDS } from './rules/index.js';
import type { RuleId, Severity } from './rules/types.js';

export type RuleSetting = Severity | 'off';

export interface Config {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly criticalNames: readonly string[];
  readonly allowDuplicateNames: readonly string[];
  readonly rules: Readonly<Partial<Record<RuleId, RuleSetting>>>;
  /** default DEFAULT_GENERATED */
  readonly generated?: readonly string[];
  /** default false */
  readonly compareUnconnected?: boolean;
}

/** What discovery skips besides the built-in folders: the config's excludes and its generated code. */
export function skippedPatterns(config: Config): string[] {
  return [...config.exclude, ...(config.generated ?? DEFAULT_GENERATED)];
}

/** Generated, frozen and vendored code: migrations (Django, Alembic), vendored trees, generated sources. */
export const DEFAULT_GENERATED: readonly string[] = [
  'migrations/',
  'alembic/versions/',
  '_vendor/',
  'vendor/',
  'vendored/',
  'third_party/',
  '*.gen.*',
  '*.generated.*',
  '*_pb2.py',
  '*_pb2.pyi',
  '*_pb2_grpc.py',
];

export const DEFAULT_CONFIG: Config = {
  include: [],
  exclude: [],
  criticalNames: [],
  allowDuplicateNames: [],
  rules: {},
  generated: DEFAULT_GENERATED,
  compareUnconnected: false,
};
export const CONFIG_FILE = 'ssot.config.json';

/** A configuration problem: the CLI exits with status 2 and this message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function stringList(value: unknown, key: string, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new ConfigError(`${file}: "${key}" must be a list of strings`);
  return value as string[];
}

function booleanOption(value: unknown, key: string, file: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigError(`${file}: "${key}" must be true or false`);
  return value;
}

export function parseConfig(value: unknown, file: string): Config {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${file}: the config must be a JSON object`);
  const known = new Set([
    '$schema',
    'include',
    'exclude',
    'criticalNames',
    'allowDuplicateNames',
    'rules',
    'generated',
    'compareUnconnected',
  ]);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.has(key))
      throw new ConfigError(`${file}: unknown key "${key}" (known: ${[...known].slice(1).join(', ')})`);
  }
  const rules: Partial<Record<RuleId, RuleSetting>> = {};
  if (record.rules !== undefined) {
    if (typeof record.rules !== 'object' || record.rules === null || Array.isArray(record.rules))
      throw new ConfigError(`${file}: "rules" must be an object`);
    for (const [id, setting] of Object.entries(record.rules)) {
      if (!(RULE_IDS as readonly string[]).includes(id))
        throw new ConfigError(`${file}: unknown rule "${id}" (rules: ${RULE_IDS.join(', ')})`);
      if (setting !== 'error' && setting !== 'warning' && setting !== 'note' && setting !== 'off') {
        throw new ConfigError(`${file}: rule "${id}" must be "error", "warning", "note" or "off"`);
      }
      rules[id as RuleId] = setting;
    }
  }
  return {
    include: stringList(record.include, 'include', file),
    exclude: stringList(record.exclude, 'exclude', file),
    criticalNames: stringList(record.criticalNames, 'criticalNames', file),
    allowDuplicateNames: stringList(record.allowDuplicateNames, 'allowDuplicateNames', file),
    rules,
    generated: record.generated === undefined ? DEFAULT_GENERATED : stringList(record.generated, 'generated', file),
    compareUnconnected: booleanOption(record.compareUnconnected, 'compareUnconnected', file),
  };
}

/** Reads `file`, or `ssot.config.json` in `root` when there is one; defaults otherwise. */
export function loadConfig(root: string, file?: string): Config {
  const path = file ?? join(root, CONFIG_FILE);
  if (!file && !existsSync(path)) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`cannot read config file ${path}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseConfig(value, path);
}
