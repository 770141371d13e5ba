// The rule registry as the front ends read it: what a finding's rule offers (docs, quick fix,
// patch, model), its settings, the plain types of findings and analyses.
import { parseRuleSetting, ruleById, type RuleSettings } from '../analysis/rules';
import { DOCS_BASE, type Finding } from '../analysis/rules/rule';

export type { Span } from '../analysis/facts';
export type { Analysis } from '../analysis/project';
export { DOCS_BASE, parseRuleSetting, type Finding, type RuleSettings };

/** What a finding's rule offers the user. */
export interface RuleOffers {
  /** The rule's section of the README. */
  docsUrl: string;
  docsAnchor?: string;
  /** A quick fix (rule.fix). */
  fix: boolean;
  /** Its fixes go into fix-all and the kernel patch. */
  patch: boolean;
  /** "Simulate race": the rule has a model and models this finding's shape. */
  simulate: boolean;
}

export function ruleOffers(f: Finding): RuleOffers {
  const rule = ruleById(f.rule);
  return {
    docsUrl: rule?.meta.docsUrl ?? DOCS_BASE,
    ...(rule ? { docsAnchor: rule.meta.docsAnchor } : {}),
    fix: !!rule?.fix,
    patch: !!rule?.patch,
    simulate: !!rule?.simulate && !rule.unmodelled?.(f),
  };
}

/** The README anchor of a rule's section (undefined: no such rule). */
export function ruleDocsAnchor(id: string): string | undefined {
  return ruleById(id)?.meta.docsAnchor;
}
