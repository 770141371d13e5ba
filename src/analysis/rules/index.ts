// The rule registry: every rule module, in id order. The CLI, the report formats and the language
// server find a rule here by id and call its hooks (rule.ts); adding a rule is its module, its
// fixtures, its README section and one line here.
import type { CodeModel } from '../../sim/fromCode';
import type { WorkspaceIndex } from '../workspace';
import { compareCodeUnits } from '../text';
import type { Finding, Rule, RuleLevel, Severity } from './rule';
import { RULE_LEVELS } from './rule';
import { vrl001 } from './vrl001';
import { vrl002 } from './vrl002';
import { vrl003 } from './vrl003';

const registry: Rule[] = [vrl001, vrl002, vrl003];

export const allRules: readonly Rule[] = registry;

export function ruleById(id: string): Rule | undefined {
  return registry.find(r => r.meta.id === id);
}

/**
 * Adds a rule to the registry (the test suite's demonstration rule goes through here, as a
 * built-in rule's one line above does). Refuses an id already taken.
 */
export function registerRule(rule: Rule): void {
  if (ruleById(rule.meta.id)) throw new Error(`rule ${rule.meta.id} is already registered`);
  registry.push(rule);
  registry.sort((a, b) => compareCodeUnits(a.meta.id, b.meta.id));
}

/** Removes a rule added with registerRule() (tests). */
export function unregisterRule(id: string): void {
  const i = registry.findIndex(r => r.meta.id === id);
  if (i >= 0) registry.splice(i, 1);
}

/** Per-rule levels chosen by the user (`--rule VRL002=off`, the editor's settings); others keep their default. */
export type RuleSettings = Readonly<Record<string, RuleLevel>>;

/** The rules that run under `settings`. */
export function enabledRules(settings: RuleSettings = {}): Rule[] {
  return registry.filter(r => settings[r.meta.id] !== 'off');
}

/** The severity a rule's findings are reported with under `settings`. */
export function severityOf(rule: Rule, settings: RuleSettings = {}): Severity {
  const level = settings[rule.meta.id];
  return level && level !== 'off' ? level : rule.meta.severity;
}

/** Findings with the severity `settings` gives their rule (the findings of rules set off dropped). */
export function applyRuleSettings(findings: Finding[], settings: RuleSettings = {}): Finding[] {
  if (Object.keys(settings).length === 0) return findings;
  const out: Finding[] = [];
  for (const f of findings) {
    const rule = ruleById(f.rule);
    if (!rule) {
      out.push(f);
      continue;
    }
    if (settings[f.rule] === 'off') continue;
    const severity = severityOf(rule, settings);
    out.push(severity === f.severity ? f : { ...f, severity });
  }
  return out;
}

/**
 * `VRL002=off` (or `vrl002=warning`) as a rule setting; a message naming what is wrong
 * otherwise (an unknown rule or level).
 */
export function parseRuleSetting(text: string): { id: string; level: RuleLevel } | { error: string } {
  const m = /^\s*([A-Za-z]+\d+)\s*[=:]\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return { error: `expected RULE=LEVEL (e.g. VRL002=warning), not ${JSON.stringify(text)}` };
  const id = m[1].toUpperCase();
  if (!ruleById(id)) return { error: `unknown rule ${m[1]} (rules: ${registry.map(r => r.meta.id).join(', ')})` };
  const level = m[2].toLowerCase() as RuleLevel;
  if (!RULE_LEVELS.includes(level)) return { error: `${id}: level must be one of ${RULE_LEVELS.join(', ')}, not ${JSON.stringify(m[2])}` };
  return { id, level };
}

/** "Simulate race" for a finding: its rule's model, or undefined where the rule has none. */
export function simulationModel(f: Finding, index: WorkspaceIndex): CodeModel | undefined {
  return ruleById(f.rule)?.simulate?.(f, index);
}
