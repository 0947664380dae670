import { createHash } from 'node:crypto';
import type * as t from '@babel/types';
import { redactionTest } from '../config.js';
import { InsertionList } from '../edits.js';
import type { Diagnostic, InstrumentContext, InstrumentResult } from '../types.js';
import { ANONYMOUS, boundNames, keyName, qualify, targetName } from './names.js';
import { parseJs } from './parse.js';
import { SiteTable } from './sites.js';
import { encodeSiteTable } from '../../runtime/site-table.js';

type Node = t.Node;
type Fn = t.Function;

/** The function whose span the code being walked reports to. */
interface FnCtx {
  async: boolean;
  generator: boolean;
}

const IGNORE_FILE = /\/[*/]\s*cti-ignore-file\b/;
const IGNORE_NEXT = /^\s*cti-ignore(?!-)\b/;
export const MARKER = '/*cti:instrumented*/';

/** Keys that never hold runtime code (types) or are not child nodes. */
const SKIP_KEYS = new Set([
  'type', 'start', 'end', 'loc', 'range', 'extra', 'leadingComments', 'trailingComments', 'innerComments',
  'typeAnnotation', 'returnType', 'typeParameters', 'superTypeParameters', 'typeArguments', 'implements',
  'predicate', 'decorators',
]);

const LIST_PARENTS = new Set(['BlockStatement', 'Program', 'StaticBlock', 'TSModuleBlock']);

const LOOP_KIND: Record<string, string> = {
  ForStatement: 'for', ForInStatement: 'for-in', ForOfStatement: 'for-of', WhileStatement: 'while', DoWhileStatement: 'do-while',
};

function hasUseStrict(directives: t.Directive[]): boolean {
  return directives.some((d) => d.value.value === 'use strict');
}

/**
 * `let x = null`, `const list = []`: TypeScript gives such an unannotated variable an evolving
 * type that later assignments widen; passed through our generic `v()` it would be fixed at
 * `null` or `never[]` and the instrumented file would no longer type-check, so the wrapped
 * initialiser gets `as any`.
 */
function evolvingType(d: t.VariableDeclarator): boolean {
  const init = d.init;
  if (d.id.type !== 'Identifier' || d.id.typeAnnotation || !init) return false;
  return (init.type === 'ArrayExpression' && init.elements.length === 0) || init.type === 'NullLiteral' ||
    (init.type === 'Identifier' && init.name === 'undefined') || (init.type === 'UnaryExpression' && init.operator === 'void');
}

function isFunctionValue(node: Node | null | undefined): boolean {
  return !!node && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression' || node.type === 'ClassExpression');
}

export function instrumentJs(code: string, ctx: InstrumentContext): InstrumentResult {
  const stats = { functions: 0, variables: 0, branches: 0, loops: 0 };
  const diagnostics: Diagnostic[] = [];
  const language = /\.[cm]?tsx?$/i.test(ctx.filename) ? 'typescript' : 'javascript';
  const unchanged = (): InstrumentResult => ({ code, map: null, instrumented: false, diagnostics, stats, language });
  const note = (line: number, column: number, message: string, severity: Diagnostic['severity'] = 'info') =>
    diagnostics.push({ file: ctx.filename, line, column, message, severity });

  if (code.includes(MARKER)) {
    note(1, 1, 'already instrumented; left as it is');
    return unchanged();
  }
  if (IGNORE_FILE.test(code)) {
    note(1, 1, 'cti-ignore-file: left as it is');
    return unchanged();
  }
  const ast = parseJs(code, ctx.filename);
  const program = ast.program;
  const { capture } = ctx.config;

  // Hygienic names: our identifiers must not collide with the program's.
  const base = code.includes('__cti') ? `__cti${createHash('sha256').update(code).digest('hex').slice(0, 8)}` : '__cti';
  /** The runtime's functions are imported one by one: a plain identifier per call costs a bundler less than a namespace member. */
  const imported = new Set<string>();
  const rt = (name: string) => {
    imported.add(name);
    return `${base}$${name}`;
  };
  const F = `${base}$f`;
  const S = `${base}$s`;
  const T = `${base}$t`;

  /** Whether the code being walked is strict-mode code (modules, classes, 'use strict'). */
  let strict = program.sourceType === 'module' || ctx.moduleType === 'esm' || hasUseStrict(program.directives);

  const sites = new SiteTable(redactionTest(ctx.config));
  const edits = new InsertionList();

  /** First offset after `pos` that is not whitespace or a comment. */
  const skipTrivia = (pos: number): number => {
    for (;;) {
      while (pos < code.length && /\s/.test(code[pos])) pos++;
      if (code.startsWith('//', pos)) pos = code.indexOf('\n', pos) === -1 ? code.length : code.indexOf('\n', pos);
      else if (code.startsWith('/*', pos)) pos = code.indexOf('*/', pos + 2) + 2;
      else return pos;
    }
  };
  const endsWithSemicolon = (node: Node) => code[node.end! - 1] === ';';
  const lineOf = (node: Node) => node.loc!.start.line;
  const ignored = (node: Node) => !!node.leadingComments?.some((c) => IGNORE_NEXT.test(c.value));

  // ---- events inside a function body -------------------------------------------------

  /** Statement text run when a block or single statement is entered. */
  const atStatementStart = (stmt: t.Statement, text: string, depth: number, after = '') => {
    if (stmt.type === 'BlockStatement') {
      if (!text && !after) return;
      // In an empty block both land on one offset: keep them in order as one insertion.
      if (stmt.start! + 2 === stmt.end!) edits.open(stmt.start! + 1, text + after, depth + 1);
      else {
        edits.open(stmt.start! + 1, text, depth + 1);
        if (after) edits.close(stmt.end! - 1, after, depth + 1);
      }
    } else {
      edits.open(stmt.start!, `{${text}`, depth);
      edits.close(stmt.end!, `${after}}`, depth);
    }
  };

  const varEvents = (names: string[], line: number) =>
    names.map((n) => {
      stats.variables++;
      return `${rt('v')}(${S},${sites.variable(n, line)},${n});`;
    }).join('');

  /** Reads bindings right after the statement that set them (statement lists only). */
  const afterStatement = (stmt: Node, names: string[], depth: number) => {
    if (!names.length) return;
    edits.close(stmt.end!, `${endsWithSemicolon(stmt) ? '' : ';'}${varEvents(names, lineOf(stmt))}`, depth + 1);
  };

  const wrap = (node: Node, before: string, after: string, depth: number) => {
    edits.open(node.start!, before, depth);
    edits.close(node.end!, after, depth);
  };

  const branch = (kind: string, line: number) => {
    stats.branches++;
    return `${rt('b')}(${S},${sites.branch(kind, line)});`;
  };

  const armOf = (stmt: t.Statement) =>
    // Braces around these would change scoping (sloppy-mode function-in-if, lexical declarations).
    !(stmt.type === 'FunctionDeclaration' || stmt.type === 'ClassDeclaration' || (stmt.type === 'VariableDeclaration' && stmt.kind !== 'var'));

  // ---- the walk --------------------------------------------------------------------

  const visitChildren = (node: Node, fn: FnCtx | null, scope: string, depth: number) => {
    for (const key in node) {
      if (SKIP_KEYS.has(key)) continue;
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (const child of value) if (child && typeof child.type === 'string') visit(child, node, key, fn, scope, null, depth + 1);
      } else if (value && typeof (value as Node).type === 'string') {
        visit(value as Node, node, key, fn, scope, null, depth + 1);
      }
    }
  };

  /** Whether a statement can be followed by another: it sits in a statement list, or in an arm or loop body we brace. */
  const inList = (parent: Node, key: string, stmt?: Node): boolean => {
    if (LIST_PARENTS.has(parent.type)) return key === 'body';
    if (parent.type === 'SwitchCase') return key === 'consequent';
    if (!stmt) return false;
    // Arms and loop bodies are braced for their events, and so that a statement in them can be
    // followed by its variable events whatever the other capture flags say.
    if (parent.type === 'IfStatement') return (capture.branches || capture.variables) && armOf(stmt as t.Statement) && (key === 'consequent' || (key === 'alternate' && stmt.type !== 'IfStatement'));
    if (key === 'body' && parent.type in LOOP_KIND) return capture.loops || capture.variables;
    return false;
  };

  function visit(node: Node, parent: Node, key: string, fn: FnCtx | null, scope: string, hint: string | null, depth: number): void {
    if (ignored(node)) return;
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return visitFunction(node, (node.type !== 'ArrowFunctionExpression' && node.id?.name) || hint || ANONYMOUS, lineOf(node), scope, depth);
      case 'ObjectMethod':
      case 'ClassMethod':
      case 'ClassPrivateMethod': {
        if (node.computed) visit(node.key, node, 'key', fn, scope, null, depth + 1);
        const name = keyName(node.key, !!node.computed);
        return visitFunction(node, hint ? `${hint}.${name}` : name, lineOf(node.key), scope, depth);
      }
      case 'ClassDeclaration':
      case 'ClassExpression': {
        // Every part of a class is strict-mode code.
        const outer = strict;
        strict = true;
        visitClass(node, fn, scope, hint, depth);
        strict = outer;
        return;
      }
      case 'TSModuleDeclaration':
        // `namespace A.B { function f() {} }`: f is named A.B.f.
        if (node.body) visit(node.body, node, 'body', fn, node.id.type === 'Identifier' ? qualify(scope, node.id.name) : scope, null, depth + 1);
        return;
      case 'ObjectExpression': {
        // `module.exports = { f() {} }` names `f`, as `exports.f = function () {}` does.
        const objScope = hint && hint !== 'module.exports' ? qualify(scope, hint) : scope;
        for (const prop of node.properties) {
          if (ignored(prop)) continue;
          if (prop.type === 'ObjectMethod') {
            if (prop.computed) visit(prop.key, prop, 'key', fn, scope, null, depth + 2);
            visitFunction(prop, keyName(prop.key, !!prop.computed), lineOf(prop.key), objScope, depth + 1);
          } else if (prop.type === 'ObjectProperty') {
            if (prop.computed) visit(prop.key, prop, 'key', fn, scope, null, depth + 2);
            visit(prop.value, prop, 'value', fn, objScope, keyName(prop.key, !!prop.computed), depth + 2);
          } else {
            visit(prop, node, 'properties', fn, scope, null, depth + 1);
          }
        }
        return;
      }
      case 'VariableDeclarator': {
        const name = node.id.type === 'Identifier' ? node.id.name : null;
        visit(node.id, node, 'id', fn, scope, null, depth + 1);
        if (node.init) {
          visit(node.init, node, 'init', fn, scope, name, depth + 1);
          if (fn && capture.variables && name && !isFunctionValue(node.init)) {
            stats.variables++;
            const untyped = language === 'typescript' && evolvingType(node) ? ' as any' : '';
            wrap(node.init, `${rt('v')}(${S},${sites.variable(name, lineOf(node))},(`, `${untyped}))`, depth + 1);
          }
        }
        return;
      }
      case 'VariableDeclaration':
        visitChildren(node, fn, scope, depth);
        if (fn && capture.variables && inList(parent, key, node) && !node.declare) {
          const names = node.declarations.filter((d) => d.init && d.id.type !== 'Identifier').flatMap((d) => boundNames(d.id));
          afterStatement(node, names, depth);
        }
        return;
      case 'AssignmentExpression': {
        visit(node.left, node, 'left', fn, scope, null, depth + 1);
        visit(node.right, node, 'right', fn, scope, targetName(node.left), depth + 1);
        if (!fn || !capture.variables) return;
        const left = node.left;
        if (left.type === 'Identifier' || (left.type === 'MemberExpression' && !left.computed &&
            (left.object.type === 'Identifier' || left.object.type === 'ThisExpression') && left.property.type === 'Identifier')) {
          // Wrapping the whole assignment keeps name inference and evaluation order.
          const name = left.type === 'Identifier' ? left.name : `${left.object.type === 'ThisExpression' ? 'this' : (left.object as t.Identifier).name}.${(left.property as t.Identifier).name}`;
          stats.variables++;
          wrap(node, `${rt('v')}(${S},${sites.variable(name, lineOf(node))},(`, '))', depth);
        } else if (parent.type === 'ExpressionStatement') {
          pendingAfter.set(parent, boundNames(left as Node));
        }
        return;
      }
      case 'UpdateExpression':
        visitChildren(node, fn, scope, depth);
        // Only plain bindings are read back: reading a property could run a getter.
        if (fn && capture.variables && parent.type === 'ExpressionStatement' && node.argument.type === 'Identifier') {
          pendingAfter.set(parent, [node.argument.name]);
        }
        return;
      case 'ExpressionStatement':
        visitChildren(node, fn, scope, depth);
        if (pendingAfter.has(node)) {
          if (inList(parent, key, node)) afterStatement(node, pendingAfter.get(node)!, depth);
          pendingAfter.delete(node);
        }
        return;
      case 'ReturnStatement':
        visitChildren(node, fn, scope, depth);
        if (!fn) return;
        if (node.argument) wrap(node.argument, `${rt('ret')}(${S},(`, '))', depth + 1);
        else edits.open(node.start! + 'return'.length, ` void ${rt('done')}(${S})`, depth);
        return;
      case 'AwaitExpression':
        visitChildren(node, fn, scope, depth);
        if (!fn?.async) return;
        wrap(node, `${rt('rs')}(${S},`, ')', depth);
        wrap(node.argument, `${rt('aw')}(${S},(`, '))', depth + 1);
        return;
      case 'YieldExpression':
        visitChildren(node, fn, scope, depth);
        if (!fn?.generator) return;
        // A yield whose value is unused stays unused (`void`): TypeScript types a used one (TS7057).
        if (parent.type === 'ExpressionStatement') wrap(node, `${rt('rs')}(${S},void (`, node.argument ? '))' : ` ${rt('y')}(${S})))`, depth);
        else wrap(node, `${rt('rs')}(${S},`, node.argument ? ')' : ` ${rt('y')}(${S}))`, depth);
        if (node.argument) wrap(node.argument, `${rt('y')}(${S},(`, '))', depth + 1);
        return;
      case 'CatchClause': {
        visitChildren(node, fn, scope, depth);
        if (!fn) return;
        const param = node.param?.type === 'Identifier' ? node.param.name : null;
        const site = param && capture.variables ? (stats.variables++, sites.variable(param, lineOf(node))) : -1;
        edits.open(node.body.start! + 1, `${rt('c')}(${S},${site}${param ? `,${param}` : ''});`, depth + 2);
        return;
      }
      case 'TryStatement': {
        visitChildren(node, fn, scope, depth);
        const fin = node.finalizer;
        if (!fn || !fin) return;
        // A finally block may run after a rejected await or a generator's return() (resume), and
        // after a return that it may still override, cancel or turn into a throw (`ft`/`fe`).
        const open = `const ${T}=${rt('ft')}(${S});`;
        const close = `;${rt('fe')}(${S},${T});`;
        if (fin.start! + 2 === fin.end!) edits.open(fin.start! + 1, open + close, depth + 2);
        else {
          edits.open(fin.start! + 1, open, depth + 2);
          edits.close(fin.end! - 1, close, depth + 2);
        }
        return;
      }
      case 'IfStatement':
        visitChildren(node, fn, scope, depth);
        if (!fn || !(capture.branches || capture.variables)) return;
        if (armOf(node.consequent)) {
          const kind = parent.type === 'IfStatement' && key === 'alternate' ? 'else if' : 'if';
          atStatementStart(node.consequent, capture.branches ? branch(kind, lineOf(node)) : '', depth + 1);
        }
        if (node.alternate && node.alternate.type !== 'IfStatement' && armOf(node.alternate)) {
          atStatementStart(node.alternate, capture.branches ? branch('else', lineOf(node.alternate)) : '', depth + 1);
        }
        return;
      case 'SwitchCase': {
        visitChildren(node, fn, scope, depth);
        if (!fn || !capture.branches) return;
        let colon = skipTrivia(node.test ? node.test.end! : node.start! + 'default'.length);
        while (code[colon] === ')') colon = skipTrivia(colon + 1);
        if (code[colon] !== ':') return;
        edits.open(colon + 1, branch(node.test ? 'case' : 'default', lineOf(node)), depth + 1);
        return;
      }
      case 'ConditionalExpression':
        visitChildren(node, fn, scope, depth);
        if (!fn || !capture.branches) return;
        wrap(node.consequent, `(${branch('ternary', lineOf(node.consequent)).slice(0, -1)},(`, '))', depth + 1);
        wrap(node.alternate, `(${branch('ternary else', lineOf(node.alternate)).slice(0, -1)},(`, '))', depth + 1);
        return;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
      case 'WhileStatement':
      case 'DoWhileStatement':
        visitChildren(node, fn, scope, depth);
        if (fn) visitLoop(node, parent, key, fn, depth);
        return;
      case 'ExportDefaultDeclaration':
        if (isFunctionValue(node.declaration as Node) || node.declaration.type === 'FunctionDeclaration' || node.declaration.type === 'ClassDeclaration') {
          return visit(node.declaration, node, 'declaration', fn, scope, 'default', depth + 1);
        }
        return visitChildren(node, fn, scope, depth);
      case 'AssignmentPattern':
        visit(node.left, node, 'left', fn, scope, null, depth + 1);
        visit(node.right, node, 'right', fn, scope, node.left.type === 'Identifier' ? node.left.name : null, depth + 1);
        return;
      case 'LabeledStatement':
        labels.set(node, parent.type === 'LabeledStatement' ? labels.get(parent)! : [node, inList(parent, key, node)]);
        return visitChildren(node, fn, scope, depth);
      case 'TSDeclareFunction':
      case 'TSDeclareMethod':
      case 'TSInterfaceDeclaration':
      case 'TSTypeAliasDeclaration':
        return;
      default:
        visitChildren(node, fn, scope, depth);
    }
  }

  function visitClass(node: t.Class, fn: FnCtx | null, scope: string, hint: string | null, depth: number) {
    const cls = qualify(scope, node.id?.name ?? hint ?? ANONYMOUS);
    for (const d of node.decorators ?? []) visit(d, node, 'decorators', fn, scope, null, depth + 1);
    if (node.superClass) visit(node.superClass, node, 'superClass', fn, scope, null, depth + 1);
    for (const member of node.body.body) {
      if (ignored(member)) continue;
      for (const d of (member as { decorators?: t.Decorator[] }).decorators ?? []) visit(d, member, 'decorators', fn, scope, null, depth + 2);
      switch (member.type) {
        case 'ClassMethod':
        case 'ClassPrivateMethod':
          // Computed keys are evaluated where the class is defined.
          if (member.computed) visit(member.key, member, 'key', fn, scope, null, depth + 2);
          visitFunction(member, `${cls}.${keyName(member.key, !!member.computed)}`, lineOf(member.key), '', depth + 1);
          break;
        case 'ClassProperty':
        case 'ClassPrivateProperty':
        case 'ClassAccessorProperty': {
          const computed = 'computed' in member && !!member.computed;
          if (computed) visit(member.key, member, 'key', fn, scope, null, depth + 2);
          // Initialisers run with the instance as `this`: no span of ours is in scope.
          if (member.value) visit(member.value, member, 'value', null, cls, keyName(member.key, computed), depth + 2);
          break;
        }
        case 'StaticBlock':
          visitChildren(member, null, cls, depth + 1);
          break;
      }
    }
  }

  /** Statements whose assignment targets are read back once the statement finished. */
  const pendingAfter = new Map<Node, string[]>();
  /** For each labeled statement: the outermost of its chain of labels, and whether that can be followed by another statement (see inList). */
  const labels = new Map<Node, [Node, boolean]>();

  function visitLoop(node: t.Loop, parent: Node, key: string, fn: FnCtx, depth: number) {
    const forAwait = node.type === 'ForOfStatement' && node.await;
    let text = '';
    if (capture.loops) {
      stats.loops++;
      text += `${rt('l')}(${S},${sites.loop(forAwait ? 'for-await' : LOOP_KIND[node.type], lineOf(node))});`;
    }
    if (capture.variables && (node.type === 'ForInStatement' || node.type === 'ForOfStatement')) {
      const left = node.left.type === 'VariableDeclaration' ? node.left.declarations[0].id : node.left;
      // Reading a member target back could run a getter.
      if (left.type !== 'MemberExpression') text += varEvents(boundNames(left as Node), lineOf(node));
    }
    if (forAwait && fn.async) {
      // Each iteration suspends at the loop head: hand the context back while suspended.
      wrap(node.right, `${rt('fa')}(${S},(`, '))', depth + 1);
      atStatementStart(node.body, `${rt('rs')}(${S});${text}try{`, depth + 1, `}finally{${rt('aw')}(${S})}`);
      // Resume once the loop is over; where no statement can follow the loop (with its labels),
      // braces make room for one.
      const [outer, listed] = parent.type === 'LabeledStatement' ? labels.get(parent)! : [node, inList(parent, key, node)];
      if (listed) edits.close(outer.end!, `;${rt('rs')}(${S});`, depth);
      else wrap(outer, '{', `;${rt('rs')}(${S});}`, depth - 1);
      return;
    }
    if (text || capture.variables) atStatementStart(node.body, text, depth + 1);
  }

  function paramNames(fn: Fn): string[] {
    const names: string[] = [];
    for (const p of fn.params) {
      if (p.type === 'Identifier' && p.name === 'this') continue; // TypeScript `this` parameter
      boundNames(p as Node, names);
    }
    return names;
  }

  /**
   * Body-level function declarations become block-scoped inside our `try {}`. Why a body must
   * then be left alone, or null: two clashing names would no longer parse; in sloppy mode a
   * function declared again in a nested block would no longer be hoisted over the body-level
   * one (Annex B), and a direct eval() could declare a `var` that now clashes.
   */
  function blockScopeClash(body: t.BlockStatement, sloppy: boolean): string | null {
    const fns = body.body.filter((s): s is t.FunctionDeclaration => s.type === 'FunctionDeclaration').map((f) => f.id!.name);
    if (!fns.length) return null;
    const seen = new Set<string>();
    for (const n of fns) {
      if (seen.has(n)) return `"${n}" is declared twice at the top of the body`;
      seen.add(n);
    }
    const vars = new Set<string>();
    const nestedFns = new Set<string>();
    let evals = false;
    const collect = (n: Node) => {
      if (n.type === 'VariableDeclaration' && n.kind === 'var') for (const d of n.declarations) boundNames(d.id, []).forEach((x) => vars.add(x));
      if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'eval') evals = true;
      for (const k in n) {
        if (SKIP_KEYS.has(k)) continue;
        const v = (n as unknown as Record<string, unknown>)[k];
        const kids = Array.isArray(v) ? v : [v];
        for (const c of kids) {
          if (!c || typeof c.type !== 'string') continue;
          if (c.type === 'FunctionDeclaration' && n !== body && c.id) nestedFns.add(c.id.name);
          if (!/Function|Class|Method/.test(c.type)) collect(c);
        }
      }
    };
    collect(body);
    const twice = fns.find((n) => vars.has(n));
    if (twice) return `"${twice}" is declared twice at the top of the body`;
    if (!sloppy) return null;
    const again = fns.find((n) => nestedFns.has(n));
    if (again) return `sloppy-mode function "${again}" is declared again in a nested block`;
    if (evals) return 'sloppy-mode direct eval() could declare a var that clashes with a function declaration';
    return null;
  }

  function visitFunction(node: Fn, ownName: string, line: number, scope: string, depth: number) {
    const outer = strict;
    if (node.body.type === 'BlockStatement' && hasUseStrict(node.body.directives)) strict = true;
    visitFunctionIn(node, ownName, line, scope, depth);
    strict = outer;
  }

  function visitFunctionIn(node: Fn, ownName: string, line: number, scope: string, depth: number) {
    const name = qualify(scope, ownName);
    const inner: FnCtx = { async: !!node.async, generator: !!node.generator };
    // Default values are evaluated before the body: no span exists there yet.
    for (const p of node.params) visit(p, node, 'params', null, name, null, depth + 1);
    const body = node.body as t.BlockStatement | t.Expression | undefined;
    if (!body || !capture.functions) {
      if (body) visit(body, node, 'body', null, name, null, depth + 1);
      return;
    }
    if (body.type === 'BlockStatement') {
      const clash = blockScopeClash(body, !strict);
      if (clash) {
        note(line, node.loc!.start.column + 1, `${name}: not instrumented: ${clash}`, 'warning');
        visit(body, node, 'body', null, name, null, depth + 1);
        return;
      }
    }
    visit(body, node, 'body', inner, name, null, depth + 1);
    stats.functions++;
    const args = capture.args ? paramNames(node) : [];
    const enter = `const ${S}=${rt('enter')}(${F},${sites.fn(name, line, args, !!node.generator)}${args.map((a) => `,${a}`).join('')});`;
    if (body.type === 'BlockStatement') {
      const lastDirective = body.directives.at(-1);
      const at = lastDirective ? lastDirective.end! : body.start! + 1;
      const semi = lastDirective && code[lastDirective.end! - 1] !== ';' ? ';' : '';
      const open = `${semi}${enter}try{`;
      // After a final return or throw the end of the body cannot be reached: no done().
      const last = body.body.at(-1)?.type;
      const close = `${last === 'ReturnStatement' || last === 'ThrowStatement' ? '' : `;${rt('done')}(${S})`}}finally{${rt('exit')}(${S})}`;
      if (at === body.end! - 1) edits.open(at, open + close, depth);
      else {
        edits.open(at, open, depth);
        edits.close(body.end! - 1, close, depth);
      }
    } else {
      const arrow = code.indexOf('=>', skipArrowHead(node as t.ArrowFunctionExpression));
      edits.open(arrow + 2, `{${enter}try{return ${rt('ret')}(${S},(`, depth);
      edits.close(node.end!, `))}finally{${rt('exit')}(${S})}}`, depth);
    }
  }

  /** Offset from which the arrow's `=>` is the first one outside comments. */
  function skipArrowHead(node: t.ArrowFunctionExpression): number {
    let pos = node.returnType?.end ?? node.params.at(-1)?.end ?? node.typeParameters?.end ?? node.start!;
    for (;;) {
      pos = skipTrivia(pos);
      if (code.startsWith('=>', pos)) return pos;
      pos++;
    }
  }

  visitChildren(program, null, '', 0);
  if (stats.functions === 0) {
    return unchanged();
  }

  // TypeScript compiles `import` to whatever module system it targets: always import there.
  const esm = program.sourceType === 'module' || ctx.moduleType === 'esm' || (language === 'typescript' && ctx.moduleType !== 'cjs');
  const spec = JSON.stringify(ctx.runtime);
  const opts = { lang: language, returns: capture.returns, exceptions: capture.exceptions, valueLength: ctx.config.limits.valueLength, events: ctx.config.limits.eventsPerSpan };
  const table = `${rt('file')}(${JSON.stringify(ctx.relativePath)},${JSON.stringify(encodeSiteTable(sites.sites, opts))})`;
  const names = [...imported].sort();
  const header = esm
    ? `${MARKER}import {${names.map((n) => `${n} as ${base}$${n}`).join(',')}} from ${spec};var ${F}=${table};`
    : `${MARKER}var {${names.map((n) => `${n}:${base}$${n}`).join(',')}}=require(${spec}),${F}=${table};`;
  // After the hashbang and directives (code before a directive turns it into a plain string).
  const lastDirective = program.directives.at(-1);
  const headerAt = lastDirective ? lastDirective.end! : program.interpreter ? code.indexOf('\n') + 1 : (program.body[0]?.start ?? 0);
  const semi = lastDirective && code[lastDirective.end! - 1] !== ';' ? ';' : '';
  edits.open(headerAt, semi + header, -1);

  const out = edits.apply(code, ctx.filename, ctx.sourceMap);
  return { code: out.code, map: out.map, instrumented: true, diagnostics, stats, language };
}
