// Fact extraction, syntax helpers: declarators, type names, error counts (no state).
import type { Node } from '../parser';
import type { TypeRef } from '../facts';

export function typeOf(typeNode: Node | null, declarator: Node | null): TypeRef {
  let pointer = 0;
  let d = declarator;
  while (
    d &&
    (d.type === 'pointer_declarator' ||
      d.type === 'array_declarator' ||
      d.type === 'init_declarator' ||
      d.type === 'parenthesized_declarator' ||
      d.type === 'attributed_declarator' ||
      d.type === 'abstract_pointer_declarator')
  ) {
    if (d.type === 'pointer_declarator' || d.type === 'array_declarator' || d.type === 'abstract_pointer_declarator') pointer++;
    d = d.childForFieldName('declarator') ?? d.namedChildren.find(c => c && c.type.endsWith('declarator')) ?? null;
  }
  let name: string | undefined;
  let base = '';
  if (typeNode) {
    if (typeNode.type === 'struct_specifier' || typeNode.type === 'union_specifier' || typeNode.type === 'enum_specifier') {
      name = typeNode.childForFieldName('name')?.text;
      base = `${typeNode.type.replace('_specifier', '')} ${name ?? '<anonymous>'}`;
    } else if (typeNode.type === 'type_identifier') {
      name = typeNode.text;
      base = name;
    } else {
      base = typeNode.text.replace(/\s+/g, ' ');
      if (typeNode.type === 'macro_type_specifier') name = undefined;
    }
  }
  return { name, pointer, text: base + (pointer ? ' ' + '*'.repeat(pointer) : '') };
}
/** The innermost identifier of a declarator (`*p`, `a[3]`, `(*fn)(int)`). */
export function declaratorName(d: Node | null): Node | null {
  while (d) {
    if (d.type === 'identifier' || d.type === 'field_identifier' || d.type === 'type_identifier') return d;
    const next: Node | null =
      d.childForFieldName('declarator') ??
      d.namedChildren.find(c => c && (c.type.endsWith('declarator') || c.type === 'identifier' || c.type === 'field_identifier')) ??
      null;
    if (next === d) return null;
    d = next;
  }
  return null;
}
export function findFunctionDeclarator(d: Node | null): Node | null {
  while (d) {
    if (d.type === 'function_declarator') return d;
    d = d.childForFieldName('declarator');
  }
  return null;
}
/** `*f(...)` declarator chain minus the function declarator, to count the return type's pointers. */
export function ptrWrapper(d: Node): Node | null {
  return d.type === 'pointer_declarator' ? d : null;
}
export function countErrors(node: Node): number {
  if (!node.hasError) return 0;
  let n = 0;
  const cursor = node.walk();
  let done = false;
  while (!done) {
    const t = cursor.currentNode;
    if (t.isError || t.isMissing) n++;
    if (t.hasError && cursor.gotoFirstChild()) continue;
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent() || cursor.currentNode.id === node.id) {
        done = true;
        break;
      }
    }
  }
  cursor.delete();
  return n;
}
