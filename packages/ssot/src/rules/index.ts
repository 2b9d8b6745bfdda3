import { duplicateDefinition } from './duplicate-definition.js';
import { inconsistentImport } from './inconsistent-import.js';
import type { Rule, RuleId } from './types.js';
import { unknownAttribute } from './unknown-attribute.js';

export const RULES: readonly Rule[] = [duplicateDefinition, unknownAttribute, inconsistentImport];

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

export const RULE_IDS: readonly RuleId[] = RULES.map((r) => r.id);
