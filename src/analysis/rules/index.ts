import type { Rule } from './rule';
import { vrl001 } from './vrl001';
import { vrl003 } from './vrl003';

export const allRules: readonly Rule[] = [vrl001, vrl003];

export function ruleById(id: string): Rule | undefined {
  return allRules.find(r => r.meta.id === id);
}
