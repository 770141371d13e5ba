import type { Rule } from './rule';
import { vrl001 } from './vrl001';

export const allRules: readonly Rule[] = [vrl001];

export function ruleById(id: string): Rule | undefined {
  return allRules.find(r => r.meta.id === id);
}
