/** ssot: the single-source-of-truth scanner. Library API: scan(options) → Report. */
export { VERSION } from './version.js';
export { scan, analyze } from './scan.js';
export type { ScanOptions, Report } from './scan.js';
export { loadConfig, parseConfig, ConfigError, DEFAULT_CONFIG, DEFAULT_GENERATED } from './config.js';
export type { Config, RuleSetting } from './config.js';
export { RULES, ruleById } from './rules/index.js';
export type { Finding, Rule, RuleId, Severity, Related } from './rules/types.js';
export { formatJson } from './report/json.js';
export { formatText } from './report/text.js';
export { formatSarif, toSarif } from './report/sarif.js';
export { writeBaseline, readBaseline } from './report/baseline.js';
