// Adding a rule touches its module, its fixtures, its docs and the registry: a demonstration
// rule defined here (its module), with its fixture (test/fixtures/registry), is registered
// through the same call the built-in rules go through, and the CLI's text, JSON and SARIF, the
// severity settings and the fingerprint pick it up without naming it anywhere else.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { allRules, applyRuleSettings, parseRuleSetting, registerRule, ruleById, unregisterRule } from '../../src/analysis/rules';
import { createRule, type Finding } from '../../src/analysis/rules/rule';
import type { WorkspaceIndex } from '../../src/analysis/workspace';
import { fingerprint } from '../../src/report/formats';
import { RULE_ANCHORS } from '../../src/shared/protocol';
import { runCli } from '../helpers/cli';
import { expectationsIn, FIXTURES } from '../helpers/fixtures';

const DIR = path.join(FIXTURES, 'registry');

/** The demonstration rule's module: a busy-poll for one buffer (`while (!virtqueue_get_buf(..))`). */
const demo = createRule(
  {
    id: 'VRL900',
    name: 'demo-poll-drain',
    severity: 'information',
    description: 'A function busy-polls a virtqueue for one buffer (registry test rule).',
  },
  (index: WorkspaceIndex): Finding[] => {
    const out: Finding[] = [];
    for (const file of index.allFiles()) {
      for (const fn of file.functions) {
        for (const d of fn.drains) {
          if (!d.poll) continue;
          out.push({
            rule: 'VRL900',
            file: file.file,
            span: d.span,
            message: `${fn.name}() polls ${d.vq} for one buffer`,
            severity: 'information',
            handler: fn.name,
            handlerFile: file.file,
            callback: '',
            lock: '',
            lockApi: '',
            lockExpr: '',
            lockFunction: fn.name,
            lockOp: -1,
            callbackTakesLock: false,
            related: [],
            data: { queue: d.vq },
          });
        }
      }
    }
    return out;
  },
  {
    json: f => ({ polled: f.data?.queue }),
    sarifProperties: (f): Record<string, string> => ({ polled: String(f.data?.queue) }),
    fingerprint: f => [String(f.data?.queue)],
  },
);

describe('rule registry', () => {
  before(() => registerRule(demo));
  after(() => unregisterRule('VRL900'));

  it('finds the registered rule by id, with its docs anchor derived from id and name, and refuses a second one', () => {
    assert.equal(ruleById('VRL900'), demo);
    assert.ok(allRules.includes(demo));
    assert.equal(demo.meta.docsAnchor, 'vrl900-demo-poll-drain');
    assert.match(demo.meta.docsUrl, /README\.md#vrl900-demo-poll-drain$/);
    assert.equal(demo.meta.fixable, false);
    assert.throws(() => registerRule(demo), /already registered/);
  });

  it('is reported by check in text, JSON (with its own fields) and SARIF (with its metadata), where its fixture says', async () => {
    const want = expectationsIn(DIR).filter(e => e.rule === 'VRL900');
    const text = await runCli(['check', 'demo_poll.c'], DIR);
    const lines = text.stdout
      .trimEnd()
      .split('\n')
      .filter(l => l.endsWith('[VRL900]'));
    assert.deepEqual(
      lines.map(l => Number(/:(\d+):\d+: information: /.exec(l)![1]) - 1),
      want.filter(e => e.kind === 'ruleid').map(e => e.line),
    );
    for (const ok of want.filter(e => e.kind === 'ok'))
      assert.ok(!lines.some(l => l.includes(`:${ok.line + 1}:`)), `reported at ${ok.line + 1}`);
    // Information findings alone do not fail the check.
    assert.equal(text.code, 0);

    const json = JSON.parse((await runCli(['check', '--format', 'json', 'demo_poll.c'], DIR)).stdout) as {
      findings: Record<string, unknown>[];
    };
    const mine = json.findings.filter(f => f.rule === 'VRL900');
    assert.equal(mine.length, 1);
    assert.equal(mine[0].polled, 'c->ctrl_vq');

    const sarif = JSON.parse((await runCli(['check', '--format', 'sarif', 'demo_poll.c'], DIR)).stdout);
    const run = sarif.runs[0];
    const meta = run.tool.driver.rules.find((r: { id: string }) => r.id === 'VRL900');
    assert.equal(meta.name, 'demo-poll-drain');
    assert.equal(meta.defaultConfiguration.level, 'note');
    const res = run.results.find((r: { ruleId: string }) => r.ruleId === 'VRL900');
    assert.equal(run.tool.driver.rules[res.ruleIndex].id, 'VRL900');
    assert.equal(res.properties.polled, 'c->ctrl_vq');
  });

  it('is turned off or raised to a warning by --rule, and the check then fails', async () => {
    const off = await runCli(['check', '--rule', 'VRL900=off', 'demo_poll.c'], DIR);
    assert.ok(!off.stdout.includes('[VRL900]'), off.stdout);
    const warn = await runCli(['check', '--rule', 'vrl900=warning', 'demo_poll.c'], DIR);
    assert.match(warn.stdout, /: warning: demo_ctl_send\(\) polls c->ctrl_vq for one buffer \[VRL900\]/);
    assert.equal(warn.code, 1);
    const bad = await runCli(['check', '--rule', 'VRL900=loud', 'demo_poll.c'], DIR);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--rule: VRL900: level must be one of off, information, warning/);
    const unknown = await runCli(['check', '--rule', 'VRL999=off', 'demo_poll.c'], DIR);
    assert.match(unknown.stderr, /unknown rule VRL999/);
  });

  it('applies settings to findings: off drops them, a level sets their severity, other rules are untouched', () => {
    const f = { rule: 'VRL900', severity: 'information' } as Finding;
    const g = { rule: 'VRL001', severity: 'warning' } as Finding;
    assert.deepEqual(applyRuleSettings([f, g], { VRL900: 'off' }), [g]);
    assert.deepEqual(
      applyRuleSettings([f, g], { VRL900: 'warning' }).map(x => x.severity),
      ['warning', 'warning'],
    );
    assert.deepEqual(parseRuleSetting('VRL900 = information'), { id: 'VRL900', level: 'information' });
    // The fingerprint takes the rule's own parts.
    const base = { ...f, file: '/x/a.c', lockFunction: 'fn', lockExpr: '', handler: 'fn' } as Finding;
    assert.notEqual(fingerprint({ ...base, data: { queue: 'a' } }, '/x'), fingerprint({ ...base, data: { queue: 'b' } }, '/x'));
  });

  it("the client's table of built-in docs anchors agrees with the registry", () => {
    for (const [id, anchor] of Object.entries(RULE_ANCHORS)) assert.equal(ruleById(id)?.meta.docsAnchor, anchor, id);
  });
});
