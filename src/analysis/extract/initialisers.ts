// Fact extraction, initialisers: callback tables (vq_callback_t arrays, struct virtqueue_info)
// at file or function scope.
import type { Node } from '../parser';
import type { CallbackRegFact, TypeRef } from '../facts';

import type { FileCtx } from './declarations';

// ---------------------------------------------------------------------------------------------
// Initialisers: callback tables at file or function scope

export class InitializerScan {
  constructor(
    private fc: FileCtx,
    private type: TypeRef,
    private varName: string,
    private sink: { callbackRegs: CallbackRegFact[]; fnRefs: string[] } = fc.out,
  ) {}

  /** vq_callback_t *callbacks[] = { a, b } / struct virtqueue_info info[] = { { "n", cb }, ... }. */
  scan(value: Node): void {
    const isCallbacks = /\bvq_callback_t\b/.test(this.type.text);
    const isInfo = this.type.name === 'virtqueue_info';
    this.visit(value, isCallbacks, isInfo, 0);
  }

  private visit(n: Node, isCallbacks: boolean, isInfo: boolean, depth: number): void {
    if (n.type === 'initializer_list') {
      const elems = n.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
      elems.forEach((e, i) => {
        if (e.type === 'initializer_pair') {
          const designator = e.namedChildren[0]?.text ?? '';
          const value = e.childForFieldName('value') ?? e.namedChildren[e.namedChildren.length - 1];
          if (!value) return;
          if (designator === '.callback' && value.type === 'identifier')
            this.reg(value, isInfo ? 'struct virtqueue_info .callback' : '.callback =');
          else this.visit(value, isCallbacks, isInfo, depth + 1);
        } else if (e.type === 'identifier') {
          this.sink.fnRefs.push(e.text);
          if (isCallbacks) this.reg(e, `vq_callback_t ${this.varName}[]`);
          // Positional struct virtqueue_info { name, callback, ctx }: the callback is second.
          else if (isInfo && depth >= 1 && i === 1) this.reg(e, 'struct virtqueue_info');
        } else {
          this.visit(e, isCallbacks, isInfo, depth + 1);
        }
      });
    } else if (n.type === 'identifier') {
      this.sink.fnRefs.push(n.text);
    } else if (n.type === 'pointer_expression' || n.type === 'cast_expression' || n.type === 'compound_literal_expression') {
      for (const c of n.namedChildren)
        if (c) this.visit(c, isCallbacks || /\bvq_callback_t\b/.test(c.text), isInfo || c.text.includes('virtqueue_info'), depth);
    }
  }

  private reg(n: Node, how: string): void {
    this.sink.callbackRegs.push({ fn: n.text, span: this.fc.span(n), how });
  }
}
