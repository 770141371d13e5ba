// The VRL003 fix: the unlock is rewritten to match the acquisition it releases, as a text edit
// on the unlock call. spin_lock_irqsave(&L, flags) -> spin_unlock_irqrestore(&L, flags) with the
// same flags variable; spin_lock_irq -> spin_unlock_irq; spin_lock_bh -> spin_unlock_bh; a plain
// spin_lock -> spin_unlock. The unlock keeps its own family prefix (raw_spin_, read_, write_)
// and its lock argument as written. Which acquisition an unlock releases comes from the dataflow
// (LockOp.releases); an unlock that may release acquisitions of different variants (or irqsave
// ones with different flags variables) is not rewritten.
import type { FileFacts } from '../analysis/facts';
import type { Finding } from '../analysis/rules/rule';
import { mismatchAt } from '../analysis/rules/vrl003';
import { splitArgs } from '../analysis/text';
import { checkParses, lockFunctionOf, type FixResult, type TextEdit } from './irqsave';

export function irqFlagsFix(finding: Finding, facts: FileFacts, text: string): FixResult {
  const fn = lockFunctionOf(finding, facts);
  if (!fn) return { ok: false, reason: `cannot find ${finding.lockFunction}() in the current text; re-run the analysis` };
  const ui = fn.lockOps.findIndex(o => o.action === 'unlock' && o.span.start === finding.span.start);
  const u = fn.lockOps[ui];
  if (!u || !mismatchAt(fn, ui))
    return { ok: false, reason: 'the unlock no longer mismatches its lock; re-run the analysis', function: fn.name };
  const acqs = (u.releases ?? []).map(i => fn.lockOps[i]);
  const a = acqs[0];
  const flagsOf = (t?: string) => (t ?? '').replace(/\s+/g, '');
  if (acqs.some(x => x.variant.replace('_nested', '') !== a.variant.replace('_nested', '') || flagsOf(x.flags) !== flagsOf(a.flags))) {
    return {
      ok: false,
      reason: `${u.text} (line ${u.span.line + 1}) may release acquisitions of different kinds; make them consistent by hand`,
      function: fn.name,
    };
  }
  const prefix = /^(raw_spin_|spin_|read_|write_)unlock/.exec(u.api)?.[1];
  if (!prefix) return { ok: false, reason: `${u.api}() is not a spinlock or rwlock unlock`, function: fn.name };
  const variant = a.variant === '_nested' ? '' : a.variant;
  const suffix = variant === '_irqsave' ? '_irqrestore' : variant;
  const api = `${prefix}unlock${suffix}`;
  const args = splitArgs(text.slice(u.argsSpan.start, u.argsSpan.end));
  const lockArg = args[0]?.text.trim();
  if (!lockArg) return { ok: false, reason: `cannot read the lock argument of ${u.text}`, function: fn.name };
  if (variant === '_irqsave' && !a.flags) return { ok: false, reason: `cannot read the flags argument of ${a.text}`, function: fn.name };
  const newArgs = variant === '_irqsave' ? `(${lockArg}, ${a.flags!.trim()})` : `(${lockArg})`;
  const edits: TextEdit[] = [
    { start: u.nameSpan.start, end: u.nameSpan.end, newText: api },
    { start: u.argsSpan.start, end: u.argsSpan.end, newText: newArgs },
  ];
  return checkParses(text, { ok: true, edits, title: `Release ${a.lock} with ${api}() to match ${a.api}()`, function: fn.name });
}
