/**
 * The Python instrumenter: tree-sitter finds the sites, PyEdits inserts the probes of the
 * runtime (src/py-import-hook/_cti_rt.py) and records the line map. What a function becomes:
 *
 *     def f(a, b):
 *         """doc"""                                   # docstrings stay first
 *         _cti_s = _cti.enter(("f", 12, ("a", "b")), a, b)
 *         try:
 *             ...original body, one indentation level deeper...
 *             return _cti.ret(_cti_s, (value))
 *         except BaseException as _cti_e:
 *             _cti.fail(_cti_s, _cti_e)
 *             raise                                   # bare raise: the traceback is unchanged
 *         finally:
 *             _cti.exit(_cti_s)
 *
 * Class bodies get nothing (an Enum or dataclass body must not gain members); lambdas are left
 * alone. Names start with one underscore so that name mangling in classes leaves them alone.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parse, syntaxErrors } from '../tree-sitter/index.js';
import type { Diagnostic, InstrumentContext, InstrumentResult, InstrumentStats } from '../types.js';
import { PyEdits, Rank, type PyLineMap } from './emit.js';

export interface PyInstrumentResult extends InstrumentResult {
  /** Present when `instrumented`: the map the loader needs (see emit.ts). */
  lineMap: PyLineMap | null;
}

const SPAN = '_cti_s';
const RT = '_cti';

/** Nodes that open a new scope: their insides belong to another function (or none). */
const SCOPES = new Set(['function_definition', 'class_definition', 'lambda']);

const q = (s: string) => JSON.stringify(s);

const leading = (line: string) => /^[ \t\f]*/.exec(line)![0];

interface FnPlan {
  node: Node;
  body: Node;
  /** First statement after the docstring. */
  first: Node;
  last: Node;
  qualname: string;
  depth: number;
  oneLine: boolean;
  generator: boolean;
}

export async function instrumentPython(code: string, ctx: InstrumentContext): Promise<PyInstrumentResult> {
  const stats: InstrumentStats = { functions: 0, variables: 0, branches: 0, loops: 0 };
  const diagnostics: Diagnostic[] = [];
  const unchanged = (): PyInstrumentResult => ({ code, map: null, lineMap: null, instrumented: false, language: 'python', diagnostics, stats });
  const diag = (line: number, message: string, severity: Diagnostic['severity'] = 'warning') =>
    diagnostics.push({ file: ctx.filename, line, column: 1, severity, message });

  if (code.charCodeAt(0) === 0xfeff) code = code.slice(1);
  const lone = /\r(?!\n)/.exec(code);
  if (lone) {
    diag(code.slice(0, lone.index).split('\n').length, 'a lone carriage return (old Mac line end): passed through uninstrumented');
    return unchanged();
  }
  let tree: Tree;
  try {
    tree = await parse(code, 'python');
  } catch (e) {
    diag(0, `tree-sitter failed: ${(e as Error).message}; passed through uninstrumented`, 'error');
    return unchanged();
  }
  try {
    const errors = syntaxErrors(tree);
    if (errors.length > 0) {
      const e = errors[0]!;
      diagnostics.push({ file: ctx.filename, line: e.line, column: e.column, severity: 'error', message: `${e.message}; passed through uninstrumented` });
      return unchanged();
    }
    return new PythonInstrumenter(code, ctx, tree.rootNode, stats, diagnostics, diag).run() ?? unchanged();
  } finally {
    tree.delete();
  }
}

class PythonInstrumenter {
  private readonly edits: PyEdits;
  private readonly lines: string[];
  private readonly lineStarts: number[] = [0];
  private readonly eol: string;
  /** Rows that start inside a string literal: their leading whitespace is string content. */
  private readonly inString = new Set<number>();
  /** Extra indentation per row (outer functions first). */
  private readonly prefix = new Map<number, string>();
  private loopIds = 0;
  private readonly capture;

  constructor(
    private readonly code: string,
    private readonly ctx: InstrumentContext,
    private readonly root: Node,
    private readonly stats: InstrumentStats,
    private readonly diagnostics: Diagnostic[],
    private readonly diag: (line: number, message: string, severity?: Diagnostic['severity']) => void,
  ) {
    this.edits = new PyEdits(code);
    this.lines = code.split('\n');
    for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.eol = code.includes('\r\n') ? '\r\n' : '\n';
    this.capture = ctx.config.capture;
  }

  run(): PyInstrumentResult | null {
    this.markStrings(this.root);
    const plans: FnPlan[] = [];
    this.collectFunctions(this.root, [], 0, plans);
    if (plans.length === 0 || !this.capture.functions) return null;
    for (const plan of plans) this.wrapFunction(plan);
    for (const plan of plans) this.probeBody(plan);
    for (const [row, text] of this.prefix) this.edits.insert(this.lineStarts[row]!, text, row + 1, Rank.Prefix);
    if (!this.header()) return null;
    const { code, map } = this.edits.apply();
    return { code, map: null, lineMap: map, instrumented: true, language: 'python', diagnostics: this.diagnostics, stats: this.stats };
  }

  // ---- where things are -------------------------------------------------------------

  private markStrings(node: Node): void {
    if (node.type === 'string') {
      for (let r = node.startPosition.row + 1; r <= node.endPosition.row; r++) this.inString.add(r);
      return;
    }
    for (const child of node.namedChildren) if (child) this.markStrings(child);
  }

  private indentOf(row: number): string {
    return (this.prefix.get(row) ?? '') + leading(this.lines[row] ?? '');
  }

  private statements(block: Node): Node[] {
    return block.namedChildren.filter((n): n is Node => n !== null && n.type !== 'comment');
  }

  private isDocstring(stmt: Node | undefined): boolean {
    return stmt?.type === 'expression_statement' && stmt.namedChildCount === 1
      && (stmt.namedChild(0)?.type === 'string' || stmt.namedChild(0)?.type === 'concatenated_string');
  }

  /** The `:` before a block: a block on the same line as its header is a run of simple statements. */
  private sameLineAsHeader(block: Node): boolean {
    const colon = block.previousSibling;
    return colon !== null && colon.endPosition.row === block.startPosition.row;
  }

  // ---- functions ----------------------------------------------------------------------

  private collectFunctions(node: Node, names: string[], depth: number, out: FnPlan[]): void {
    for (const child of node.namedChildren) {
      if (!child) continue;
      if (child.type === 'function_definition') {
        const name = child.childForFieldName('name')?.text ?? '<anonymous>';
        const plan = this.plan(child, [...names, name].join('.'), depth);
        if (plan) out.push(plan);
        this.collectFunctions(child, [...names, name, '<locals>'], plan ? depth + 1 : depth, out);
      } else if (child.type === 'class_definition') {
        this.collectFunctions(child, [...names, child.childForFieldName('name')?.text ?? '<anonymous>'], depth, out);
      } else if (child.type === 'lambda') {
        this.collectFunctions(child, [...names, '<lambda>', '<locals>'], depth, out);
      } else {
        this.collectFunctions(child, names, depth, out);
      }
    }
  }

  private plan(node: Node, qualname: string, depth: number): FnPlan | null {
    const body = node.childForFieldName('body');
    const line = node.startPosition.row + 1;
    if (!body) return null;
    const stmts = this.statements(body);
    const hasDoc = this.isDocstring(stmts[0]);
    const first = hasDoc ? stmts[1] : stmts[0];
    if (!first) return null; // only a docstring: nothing runs
    const oneLine = this.sameLineAsHeader(body);
    if (hasDoc && (oneLine || first.startPosition.row === stmts[0]!.endPosition.row)) {
      this.diag(line, `${qualname}: docstring shares a line with code; function left uninstrumented`);
      return null;
    }
    return { node, body, first, last: stmts[stmts.length - 1]!, qualname, depth, oneLine, generator: this.hasYield(body) };
  }

  private hasYield(node: Node): boolean {
    for (const child of node.namedChildren) {
      if (!child || SCOPES.has(child.type)) continue;
      if (child.type === 'yield' || this.hasYield(child)) return true;
    }
    return false;
  }

  private params(node: Node): string[] {
    const names: string[] = [];
    const params = node.childForFieldName('parameters');
    for (const p of params?.namedChildren ?? []) {
      if (!p) continue;
      let id: Node | null = null;
      if (p.type === 'identifier') id = p;
      else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') id = p.childForFieldName('name');
      else if (p.type === 'typed_parameter' || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern') {
        const inner = p.namedChild(0);
        id = inner?.type === 'identifier' ? inner : inner?.namedChild(0)?.type === 'identifier' ? inner.namedChild(0) : null;
      }
      if (id) names.push(id.text);
    }
    return names;
  }

  private wrapFunction(plan: FnPlan): void {
    const { node, first, last } = plan;
    const defRow = node.startPosition.row;
    const line = defRow + 1;
    const params = this.capture.args ? this.params(node) : [];
    const meta = `(${q(plan.qualname)}, ${line}, (${params.map(q).join(', ')}${params.length === 1 ? ',' : ''}))`;
    const enter = `${SPAN} = ${RT}.enter(${meta}${params.map((p) => `, ${p}`).join('')})`;
    const eol = this.eol;
    let indent: string;
    let unit: string;
    if (plan.oneLine) {
      const defIndent = this.indentOf(defRow);
      unit = defIndent.includes('\t') ? '\t' : '    ';
      indent = defIndent + unit;
      this.edits.insert(first.startIndex, `${eol}${indent}${enter}${eol}${indent}try:${eol}${indent}${unit}`, line, Rank.Open, -1e9);
    } else {
      const firstRow = first.startPosition.row;
      indent = this.indentOf(firstRow);
      const rows: number[] = [];
      for (let r = firstRow; r <= last.endPosition.row; r++) {
        if (r === firstRow || (!this.inString.has(r) && (this.lines[r] ?? '').trim() !== '')) rows.push(r);
      }
      unit = rows.some((r) => leading(this.lines[r] ?? '').includes('\t')) || indent.includes('\t') ? '\t' : '    ';
      for (const r of rows) this.prefix.set(r, (this.prefix.get(r) ?? '') + unit);
      this.edits.insert(this.lineStarts[firstRow]!, `${indent}${enter}${eol}${indent}try:${eol}`, line, Rank.LinesBefore, -2 * plan.depth);
    }
    const endRow = last.endPosition.row;
    const atEnd = endRow + 1 >= this.lineStarts.length;
    const tail = [
      `${indent}except BaseException as _cti_e:`,
      `${indent}${unit}${RT}.fail(${SPAN}, _cti_e)`,
      `${indent}${unit}raise`,
      `${indent}finally:`,
      `${indent}${unit}${RT}.exit(${SPAN})`,
    ].join(eol) + eol;
    this.edits.insert(atEnd ? this.code.length : this.lineStarts[endRow + 1]!, atEnd ? eol + tail : tail, line, Rank.LinesBefore, -2 * plan.depth + 1);
    this.stats.functions++;
  }

  // ---- probes inside a body ------------------------------------------------------------

  private probeBody(plan: FnPlan): void {
    const visit = (node: Node) => {
      for (const child of node.namedChildren) {
        if (!child || SCOPES.has(child.type)) continue;
        this.probe(child, plan);
        visit(child);
      }
    };
    visit(plan.body);
  }

  private probe(node: Node, plan: FnPlan): void {
    const line = node.startPosition.row + 1;
    const c = this.capture;
    switch (node.type) {
      case 'return_statement': {
        const value = node.namedChild(0);
        if (value && c.returns) this.wrap(value, `${RT}.ret(${SPAN}, (`, '))');
        break;
      }
      case 'yield':
        if (plan.generator) this.wrapYield(node);
        break;
      case 'expression_statement':
        if (c.variables) this.assignment(node);
        break;
      case 'named_expression': {
        const name = node.childForFieldName('name');
        const value = node.childForFieldName('value');
        if (c.variables && name && value && !this.insideLambda(node)) {
          this.wrap(value, `${RT}.pv(${SPAN}, ${q(name.text)}, (`, `), ${line})`);
          this.stats.variables++;
        }
        break;
      }
      case 'if_statement':
        if (c.branches) this.atBlock(node.childForFieldName('consequence'), [`${RT}.b(${SPAN}, "if", ${line})`]);
        break;
      case 'elif_clause':
        if (c.branches) this.atBlock(node.childForFieldName('consequence'), [`${RT}.b(${SPAN}, "elif", ${line})`]);
        break;
      case 'else_clause':
        if (c.branches && node.parent?.type === 'if_statement') this.atBlock(node.childForFieldName('body'), [`${RT}.b(${SPAN}, "else", ${line})`]);
        break;
      case 'case_clause':
        if (c.branches) this.atBlock(node.childForFieldName('consequence'), [`${RT}.b(${SPAN}, "match case", ${line})`]);
        break;
      case 'for_statement':
      case 'while_statement': {
        const body = node.childForFieldName('body');
        const texts: string[] = [];
        const kind = node.type === 'while_statement' ? 'while' : node.child(0)?.type === 'async' ? 'async for' : 'for';
        if (c.loops) {
          texts.push(`${RT}.l(${SPAN}, ${this.loopIds++}, ${q(kind)}, ${line})`);
          this.stats.loops++;
        }
        const left = node.childForFieldName('left');
        if (c.variables && left) texts.push(...this.varLogs(left, line));
        this.atBlock(body, texts);
        break;
      }
      case 'with_statement': {
        const body = node.childForFieldName('body');
        const texts: string[] = [];
        if (c.variables) {
          for (const alias of node.descendantsOfType('as_pattern_target')) {
            if (alias && this.ownedBy(alias, node)) texts.push(...this.varLogs(alias, line));
          }
        }
        this.atBlock(body, texts);
        break;
      }
      case 'except_clause':
      case 'except_group_clause': {
        const alias = node.namedChildren.find((n) => n?.type === 'as_pattern')?.childForFieldName('alias');
        const block = node.namedChildren.find((n) => n?.type === 'block') ?? null;
        if (c.variables && alias) this.atBlock(block, this.varLogs(alias, line));
        break;
      }
      case 'conditional_expression': {
        const [then, , otherwise] = node.namedChildren;
        if (c.branches && then && otherwise && !this.insideLambda(node)) {
          // `probe or (value)`: the probe returns None, and runs before the value (which may raise).
          this.wrap(then, `(${RT}.b(${SPAN}, "ternary", ${line}) or (`, '))');
          this.wrap(otherwise, `(${RT}.b(${SPAN}, "ternary else", ${line}) or (`, '))');
          this.stats.branches++;
        }
        break;
      }
    }
  }

  /** True when an `as` target belongs to this with statement and not a nested one. */
  private ownedBy(alias: Node, stmt: Node): boolean {
    for (let n = alias.parent; n; n = n.parent) {
      if (n.type === 'with_statement') return n.id === stmt.id;
      if (n.type === 'block') return false;
    }
    return false;
  }

  private insideLambda(node: Node): boolean {
    for (let n = node.parent; n; n = n.parent) {
      if (n.type === 'lambda') return true;
      if (n.type === 'function_definition') return false;
    }
    return false;
  }

  private wrap(node: Node, open: string, close: string): void {
    const size = node.endIndex - node.startIndex;
    const line = node.startPosition.row + 1;
    this.edits.insert(node.startIndex, open, line, Rank.Open, -size);
    this.edits.insert(node.endIndex, close, node.endPosition.row + 1, Rank.Close, size);
  }

  /** `yield v` → `_cti.r(s, (yield _cti.y(s, (v))))`: the span stops being current while suspended. */
  private wrapYield(node: Node): void {
    const value = node.namedChild(0);
    const line = node.startPosition.row + 1;
    const size = node.endIndex - node.startIndex;
    this.edits.insert(node.startIndex, `${RT}.r(${SPAN}, (`, line, Rank.Open, -size - 0.25);
    if (value) {
      this.wrap(value, `${RT}.y(${SPAN}, (`, '))');
    } else {
      this.edits.insert(node.endIndex, ` ${RT}.y(${SPAN}, None)`, line, Rank.Close, size - 0.5);
    }
    this.edits.insert(node.endIndex, '))', node.endPosition.row + 1, Rank.Close, size);
  }

  /** Probes at the start of a block: their own lines, or `probe; ` on a one-line block. */
  private atBlock(block: Node | null, texts: string[]): void {
    if (!block || texts.length === 0) return;
    const first = this.statements(block)[0];
    if (!first) return;
    const line = first.startPosition.row + 1;
    if (this.sameLineAsHeader(block)) {
      this.edits.insert(first.startIndex, texts.map((t) => `${t}; `).join(''), line, Rank.Open, -1e9);
    } else {
      const row = first.startPosition.row;
      const indent = this.indentOf(row);
      this.edits.insert(this.lineStarts[row]!, texts.map((t) => `${indent}${t}${this.eol}`).join(''), line, Rank.LinesBefore, -1e6);
    }
    for (const t of texts) {
      if (t.startsWith(`${RT}.b(`)) this.stats.branches++;
    }
  }

  /** `_cti.v(...)` calls for every plain name a target binds (attributes and subscripts are not read again). */
  private varLogs(target: Node, line: number): string[] {
    const names: string[] = [];
    const walk = (n: Node) => {
      if (n.type === 'identifier') names.push(n.text);
      else if (n.type === 'attribute' || n.type === 'subscript') return;
      else for (const c of n.namedChildren) if (c) walk(c);
    };
    walk(target);
    this.stats.variables += names.length;
    return names.map((n) => `${RT}.v(${SPAN}, ${q(n)}, ${n}, ${line})`);
  }

  /** Assignments: names are read after the statement; a single attribute or subscript target logs the value on its way in. */
  private assignment(stmt: Node): void {
    const a = stmt.namedChild(0);
    if (!a || stmt.namedChildCount !== 1 || stmt.parent?.type !== 'block') return;
    const line = a.startPosition.row + 1;
    if (a.type === 'assignment') {
      const right = a.childForFieldName('right');
      if (!right) return; // `x: int` binds nothing
      const targets: Node[] = [];
      let value: Node | null = a;
      while (value?.type === 'assignment') {
        const left = value.childForFieldName('left');
        if (left) targets.push(left);
        value = value.childForFieldName('right');
      }
      const logs = targets.flatMap((t) => this.varLogs(t, line));
      const single = targets.length === 1 ? targets[0]! : null;
      if (single && (single.type === 'attribute' || single.type === 'subscript') && value && value.type !== 'yield') {
        this.wrap(value, `${RT}.pv(${SPAN}, ${q(single.text.replace(/\s+/g, ' '))}, (`, `), ${line})`);
        this.stats.variables++;
      }
      this.after(stmt, logs);
    } else if (a.type === 'augmented_assignment') {
      const left = a.childForFieldName('left');
      if (left?.type === 'identifier') this.after(stmt, this.varLogs(left, line));
    }
  }

  private after(stmt: Node, texts: string[]): void {
    if (texts.length === 0) return;
    const size = stmt.endIndex - stmt.startIndex;
    this.edits.insert(stmt.endIndex, texts.map((t) => `; ${t}`).join(''), stmt.endPosition.row + 1, Rank.Close, size + 0.5);
  }

  // ---- the module header -----------------------------------------------------------------

  /** `_cti = __import__("_cti_rt").module(path)`, after the docstring and `from __future__` imports. */
  private header(): boolean {
    const stmts = this.statements(this.root);
    let i = 0;
    if (this.isDocstring(stmts[0])) i++;
    while (stmts[i]?.type === 'future_import_statement') i++;
    const text = `${RT} = __import__("_cti_rt").module(${q(this.ctx.relativePath)})`;
    if (i > 0) {
      const prev = stmts[i - 1]!;
      this.edits.insert(prev.endIndex, `; ${text}`, prev.endPosition.row + 1, Rank.Close, 1e9);
      return true;
    }
    const first = stmts[0];
    if (!first) return false;
    const row = first.startPosition.row;
    this.edits.insert(this.lineStarts[row]!, `${this.indentOf(row)}${text}${this.eol}`, row + 1, Rank.LinesBefore, -1e9);
    return true;
  }
}
