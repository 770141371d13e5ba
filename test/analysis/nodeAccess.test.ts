import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { factsFromText } from '../../src/analysis/fileFacts';
import {
  currentRuntime,
  fastNodeAccess,
  installFastNodeAccess,
  reinstallFastNodeAccess,
  uninstallFastNodeAccess,
} from '../../src/analysis/nodeAccess';
import { initParser, parseC, SELF_CHECK_SAMPLE, sharedParser, type Node } from '../../src/analysis/parser';
import { FIXTURES, fixtureDirs } from '../helpers/fixtures';

/** Every node of a tree with what the extraction asks of it. */
function answers(text: string): unknown[] {
  const tree = parseC(text);
  try {
    const out: unknown[] = [];
    const walk = (n: Node) => {
      out.push([n.type, n.typeId, n.startIndex, n.endIndex, n.hasError, n.startPosition, n.endPosition, n.childCount]);
      for (const c of n.children) if (c) walk(c);
    };
    walk(tree.rootNode);
    return out;
  } finally {
    tree.delete();
  }
}

function fixtureFiles(): string[] {
  const dirs = [
    ...fixtureDirs('vrl001'),
    ...fixtureDirs('shape'),
    ...fixtureDirs('fix'),
    path.resolve(FIXTURES, '../../examples/virtio_sensor'),
  ];
  return dirs.flatMap(d =>
    fs
      .readdirSync(d)
      .filter(n => /\.[ch]$/.test(n))
      .map(n => path.join(d, n)),
  );
}

describe('fast node access', () => {
  before(() => initParser());
  afterEach(() => {
    if (!fastNodeAccess()) assert.ok(reinstallFastNodeAccess(sharedParser(), SELF_CHECK_SAMPLE));
  });

  it('is in use on this little-endian machine', () => {
    assert.equal(fastNodeAccess(), true);
  });

  it("answers every node's questions as the library does, and gives the same facts", () => {
    const files = fixtureFiles();
    assert.ok(files.length > 15);
    const fast = files.map(f => {
      const text = fs.readFileSync(f, 'utf8');
      return { nodes: answers(text), facts: factsFromText(f, text, true) };
    });
    uninstallFastNodeAccess();
    assert.equal(fastNodeAccess(), false);
    files.forEach((f, i) => {
      const text = fs.readFileSync(f, 'utf8');
      assert.deepEqual(fast[i].nodes, answers(text), f);
      assert.deepEqual(fast[i].facts, factsFromText(f, text, true), f);
    });
  });

  it('is not installed when its answers differ from the library', () => {
    const rt = currentRuntime() as Record<string, unknown>;
    uninstallFastNodeAccess();
    // A runtime whose wasm export answers one past the end: the self-check must see it.
    const endIndex = rt._ts_node_end_index_wasm as (t: number) => number;
    const wrong = { ...rt, _ts_node_end_index_wasm: (t: number) => endIndex(t) + 1 };
    assert.equal(installFastNodeAccess(wrong, sharedParser(), SELF_CHECK_SAMPLE), false);
    assert.equal(fastNodeAccess(), false);
    // Nor with another memory than the library's.
    const otherMemory = { ...rt, HEAP32: new Int32Array((rt.HEAP32 as Int32Array).length) };
    assert.equal(installFastNodeAccess(otherMemory, sharedParser(), SELF_CHECK_SAMPLE), false);
    assert.equal(fastNodeAccess(), false);
  });

  it("leaves the library's accessors in place when the self-check throws", () => {
    const rt = currentRuntime() as Record<string, unknown>;
    uninstallFastNodeAccess();
    const ownGetValue = rt.getValue;
    const symbol = rt._ts_node_symbol_wasm as (t: number) => number;
    // Throws once the self-check has put its getValue in place (the walk that checks it).
    rt._ts_node_symbol_wasm = (t: number) => {
      if (rt.getValue !== ownGetValue) throw new Error('trap');
      return symbol(t);
    };
    try {
      assert.equal(installFastNodeAccess(rt, sharedParser(), SELF_CHECK_SAMPLE), false);
      assert.equal(rt.getValue, ownGetValue);
      assert.equal(fastNodeAccess(), false);
    } finally {
      rt._ts_node_symbol_wasm = symbol;
    }
    // The library still answers.
    assert.ok(answers(SELF_CHECK_SAMPLE).length > 10);
  });
});
