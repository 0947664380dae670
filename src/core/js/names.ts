import type { Node } from '@babel/types';

export const ANONYMOUS = '<anonymous>';

export function qualify(scope: string, name: string): string {
  return scope ? `${scope}.${name}` : name;
}

/** The name of an object or class member key: `m`, `#m`, `'a b'`, or `[computed]`. */
export function keyName(key: Node, computed: boolean): string {
  if (!computed) {
    if (key.type === 'Identifier') return key.name;
    if (key.type === 'PrivateName') return `#${key.id.name}`;
    if (key.type === 'StringLiteral') return key.value;
    if (key.type === 'NumericLiteral') return String(key.value);
  }
  return '[computed]';
}

/**
 * The name an assignment target gives a function assigned to it: `x`, `Foo.bar` for
 * `Foo.prototype.bar` (or `Foo.prototype['bar']`), `handler` for `this.handler` or
 * `exports.handler`, `module.exports` for the module's own export.
 */
export function targetName(target: Node): string | null {
  if (target.type === 'Identifier') return target.name;
  if (target.type !== 'MemberExpression') return null;
  const parts: string[] = [];
  let node: Node = target;
  while (node.type === 'MemberExpression') {
    if (node.computed && node.property.type !== 'StringLiteral') return null;
    parts.unshift(keyName(node.property, false));
    node = node.object;
  }
  if (node.type === 'Identifier') parts.unshift(node.name);
  if (parts.join('.') === 'module.exports') return 'module.exports';
  const kept = parts.filter((p, i) => p !== 'prototype' && !(i === 0 && (p === 'exports' || p === 'module')) && !(p === 'exports' && parts[i - 1] === 'module'));
  return kept.length ? kept.join('.') : null;
}

/** Identifiers a binding pattern declares, in source order. */
export function boundNames(pattern: Node | null | undefined, out: string[] = []): string[] {
  if (!pattern) return out;
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name);
      break;
    case 'AssignmentPattern':
      boundNames(pattern.left, out);
      break;
    case 'RestElement':
      boundNames(pattern.argument, out);
      break;
    case 'ArrayPattern':
      for (const el of pattern.elements) boundNames(el, out);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties) boundNames(p.type === 'RestElement' ? p : (p.value as Node), out);
      break;
    case 'TSParameterProperty':
      boundNames(pattern.parameter, out);
      break;
  }
  return out;
}
