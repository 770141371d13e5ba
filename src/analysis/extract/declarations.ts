// Fact extraction, declarations: types from declarators, structs and their members, globals,
// prototypes, const ops tables, and the per-file context the item walk keeps (FileCtx).
import type { Node } from '../parser';
import { BINDING_APIS } from '../apis';
import { type FileSummaries } from '../summaries';
import { entriesOfInitializer } from '../vqTables';
import type { FunctionFacts, ParamFact, Span, TypeRef } from '../facts';
import { identArg, LineIndex, maskNonCode } from '../text';

import { suppressionsIn } from './lexical';
import type { ItemFacts } from '../extract';
import { InitializerScan } from './initialisers';
import { countErrors, declaratorName, findFunctionDeclarator, ptrWrapper, typeOf } from './nodes';
import { FunctionWalker } from './lockFlow';

// ---------------------------------------------------------------------------------------------
// Types from declarations

// ---------------------------------------------------------------------------------------------
// File-level context

export class FileCtx {
  constructor(
    readonly text: string,
    readonly lines: LineIndex,
    readonly out: ItemFacts,
    readonly summaries?: FileSummaries,
  ) {}

  span(n: Node): Span {
    return this.lines.span(n.startIndex, n.endIndex);
  }

  item(node: Node): void {
    switch (node.type) {
      case 'function_definition':
        this.functionDef(node);
        break;
      case 'declaration':
        this.declaration(node);
        break;
      case 'type_definition':
      case 'struct_specifier':
      case 'union_specifier':
        this.structsIn(node);
        break;
      default:
        // ERROR, expression_statement (DECLARE_WORK(...) at file scope parses oddly), macros.
        this.structsIn(node);
        this.textLevelBindings(node);
        for (const f of node.descendantsOfType('function_definition')) if (f) this.functionDef(f);
    }
    this.out.errors += countErrors(node);
  }

  /** `static DECLARE_WORK(name, fn);`: parsed as a macro type, so read it from the text. */
  textLevelBindings(node: Node): void {
    const t = this.text.slice(node.startIndex, node.endIndex);
    if (!t.includes('DECLARE_')) return;
    const re = /\b(DECLARE_(?:DELAYED_|DEFERRABLE_)?WORK)\s*\(\s*([A-Za-z_]\w*)\s*,\s*(?:&\s*)?([A-Za-z_]\w*)\s*\)/g;
    for (let m; (m = re.exec(t));) {
      const api = BINDING_APIS.get(m[1])!;
      const start = node.startIndex + m.index;
      this.out.bindings.push({
        api: m[1],
        span: this.lines.span(start, start + m[0].length),
        work: { text: m[2], base: { kind: 'var', name: m[2], global: true }, chain: [], addressOf: true },
        handler: { fn: m[3] },
        delayed: api.delayed,
      });
      this.out.globals.push({
        name: m[2],
        isStatic: /\bstatic\b/.test(t.slice(0, m.index + 1)),
        type: {
          name: api.delayed ? 'delayed_work' : 'work_struct',
          pointer: 0,
          text: api.delayed ? 'struct delayed_work' : 'struct work_struct',
        },
        span: this.lines.span(start, start + m[0].length),
      });
    }
  }

  structsIn(node: Node): void {
    // Most items define no struct: skip the tree search unless the text could.
    // (Not `struct x table[] = {`: an initialiser, which no struct body follows.)
    if (!/\b(?:struct|union)\b[^;{}()=]*\{/.test(this.text.slice(node.startIndex, node.endIndex))) return;
    for (const s of [node, ...node.descendantsOfType(['struct_specifier', 'union_specifier'])]) {
      if (!s || (s.type !== 'struct_specifier' && s.type !== 'union_specifier')) continue;
      const body = s.childForFieldName('body');
      const name = s.childForFieldName('name');
      if (!body || !name) continue;
      // Skip nested named structs here; they are visited on their own by descendantsOfType.
      const fields: Record<string, TypeRef> = {};
      this.collectFields(body, fields);
      this.out.structs.push({ name: name.text, span: this.span(s), fields });
    }
  }

  collectFields(body: Node, fields: Record<string, TypeRef>): void {
    for (const fd of body.namedChildren) {
      if (!fd || fd.type !== 'field_declaration') continue;
      const typeNode = fd.childForFieldName('type');
      const decls = fd.childrenForFieldName('declarator').filter((d): d is Node => !!d);
      if (decls.length === 0 && typeNode && (typeNode.type === 'struct_specifier' || typeNode.type === 'union_specifier')) {
        // An anonymous struct or union: its members are members of the enclosing struct.
        const inner = typeNode.childForFieldName('body');
        if (inner && !typeNode.childForFieldName('name')) this.collectFields(inner, fields);
        continue;
      }
      for (const d of decls) {
        const n = declaratorName(d);
        if (n) fields[n.text] = typeOf(typeNode, d);
      }
    }
  }

  declaration(node: Node): void {
    const typeNode = node.childForFieldName('type');
    const isStatic = node.children.some(c => c?.type === 'storage_class_specifier' && c.text === 'static');
    this.structsIn(node);
    this.textLevelBindings(node);
    for (const d of node.childrenForFieldName('declarator')) {
      if (!d) continue;
      const fdecl = findFunctionDeclarator(d);
      if (fdecl) {
        const n = declaratorName(fdecl.childForFieldName('declarator'));
        if (n) this.out.prototypes[n.text] = typeOf(typeNode, d.type === 'function_declarator' ? null : ptrWrapper(d));
        continue;
      }
      const n = declaratorName(d);
      if (!n) continue;
      const type = typeOf(typeNode, d);
      this.out.globals.push({ name: n.text, isStatic, type, span: this.span(n) });
      if (d.type === 'init_declarator') {
        const value = d.childForFieldName('value');
        if (value) {
          const fc = new InitializerScan(this, type, n.text);
          fc.scan(value);
          // A callback table for virtio_find_vqs() at file scope: which callback each element holds.
          if (value.type === 'initializer_list' && (/\bvq_callback_t\b/.test(type.text) || type.name === 'virtqueue_info')) {
            const masked = maskNonCode(this.text.slice(value.startIndex + 1, value.endIndex - 1));
            (this.out.vqTables ??= []).push({ name: n.text, entries: entriesOfInitializer(masked) });
          }
          // A const ops/config table: its function-pointer members are fixed.
          const isConst = node.children.some(c => c?.type === 'type_qualifier' && c.text === 'const');
          if (isConst && type.name && type.pointer === 0 && value.type === 'initializer_list') this.fieldFns(type.name, value);
        }
      }
    }
  }

  /** `.member = fn` pairs of a const struct's initialiser. */
  fieldFns(struct: string, list: Node): void {
    for (const e of list.namedChildren) {
      if (!e || e.type !== 'initializer_pair') continue;
      const designator = e.namedChildren[0];
      const value = e.childForFieldName('value') ?? e.namedChildren[e.namedChildren.length - 1];
      if (!designator || designator.type !== 'field_designator' || !value) continue;
      const fn = identArg(value.text);
      if (fn) (this.out.fieldFns ??= []).push({ struct, field: designator.text.replace(/^\./, '').trim(), fn });
    }
  }

  functionDef(node: Node): void {
    const declarator = node.childForFieldName('declarator');
    const fdecl = findFunctionDeclarator(declarator);
    const body = node.childForFieldName('body');
    if (!fdecl || !body) return;
    const nameNode = declaratorName(fdecl.childForFieldName('declarator'));
    if (!nameNode) return;
    const typeNode = node.childForFieldName('type');
    const isStatic = node.children.some(c => c?.type === 'storage_class_specifier' && c.text === 'static');
    const params: ParamFact[] = [];
    const paramList = fdecl.childForFieldName('parameters');
    for (const p of paramList?.namedChildren ?? []) {
      if (!p || p.type !== 'parameter_declaration') continue;
      const pd = p.childForFieldName('declarator');
      const pn = declaratorName(pd);
      if (!pn && p.text.trim() === 'void') continue;
      params.push({ name: pn?.text ?? '', type: typeOf(p.childForFieldName('type'), pd) });
    }
    const fn: FunctionFacts = {
      name: nameNode.text,
      isStatic,
      nameSpan: this.span(nameNode),
      span: this.span(node),
      bodySpan: this.span(body),
      returnType: typeOf(typeNode, declarator && declarator !== fdecl ? ptrWrapper(declarator) : null),
      params,
      locals: {},
      lockOps: [],
      calls: [],
      drains: [],
      schedules: [],
      bindings: [],
      callbackRegs: [],
      containerOfs: [],
      fnRefs: [],
      exitStates: [],
      declaredNames: params.map(p => p.name).filter(Boolean),
      errors: 0,
      suppressions: suppressionsIn(this.text, node.startIndex, node.endIndex, this.lines),
    };
    new FunctionWalker(this, fn).run(body);
    this.out.functions.push(fn);
  }
}
