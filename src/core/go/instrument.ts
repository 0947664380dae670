/**
 * Go instrumenter: rewrites one Go source file so that every function reports to the Go
 * runtime (src/go-toolexec/rt, imported as `__cti`). Text is only inserted inside existing
 * lines (plus a `//line` directive in front and a table of call sites after the last line), so
 * panics, stack traces, runtime.Caller, coverage and compiler errors keep the original lines.
 * The inserted code never calls recover() itself: a panic propagates untouched.
 */
import MagicString from 'magic-string';
import { DEFAULT_REDACT } from '../config.js';
import { parse, syntaxErrors, type Node } from '../tree-sitter/index.js';

export const GO_RUNTIME_IMPORT = 'cti.dev/rt';

export interface GoFileOptions {
  /** Import path of the package being compiled (the compiler's `-p`), e.g. `main`, `example.com/m/util`. */
  pkg: string;
  /** Absolute path of the original file: what the `//line` directive names. */
  path: string;
  /** Module root: `code.file.path` is relative to it. */
  root: string;
  /** Distinguishes the site tables of the files of one package (derived from the file name, so
   * that a file's output does not depend on the other files of the package). */
  id: string;
  /** The package's Go version (the compiler's `-lang`, e.g. `go1.21`); below go1.18 the output
   * uses no generics. Unknown means the toolchain's own version. */
  lang?: string;
}

export interface GoFileResult {
  code: string;
  instrumented: boolean;
  /** Why the file was left alone, when it was. */
  skipped?: string;
  functions: number;
}

const REDACT = new RegExp(DEFAULT_REDACT.join('|'), 'i');
const STATEMENT_LISTS = new Set(['block', 'expression_case', 'type_case', 'default_case', 'communication_case']);

interface Site { name: string; file: string; line: number }

interface FnCtx {
  node: Node;
  name: string;
  /** Closures met so far directly inside it (Go numbers them func1, func2, …). */
  closures: number;
  loops: number;
  /** Names we gave its unnamed results (__cti_r0, …): its returns assign them first. */
  hidden?: string[];
  /** Results the program named itself; a `return` with values assigns them through pointers taken
   * at entry (__cti_n0, …), since a name may be shadowed where it returns. */
  named?: string[];
  /** Whether a `return` used those pointers (they are declared only then: no unused variables). */
  usesNamed?: boolean;
}

export async function instrumentGoFile(code: string, opts: GoFileOptions): Promise<GoFileResult> {
  const leave = (skipped: string): GoFileResult => ({ code, instrumented: false, skipped, functions: 0 });
  if (code.includes('__cti')) return leave('uses the reserved prefix __cti');
  const tree = await parse(code, 'go');
  try {
    const root = tree.rootNode;
    if (syntaxErrors(tree).length > 0) return leave('syntax errors (left for the compiler to report)');
    const pkgClause = root.namedChildren.find((n) => n?.type === 'package_clause');
    if (!pkgClause) return leave('no package clause');
    const lines = new LineMap(code, opts.path, opts.root, pkgClause.startPosition.row);
    // Generated files are left alone, except cgo's copy of a source file (its //line directive
    // names the original, which is the program's own code).
    if (/^\/\/ Code generated .* DO NOT EDIT\.$/m.test(code.slice(0, pkgClause.startIndex)) && !lines.hasLeadingDirective) return leave('generated file');

    const generics = allowsGenerics(opts.lang, code.slice(0, pkgClause.startIndex));
    const s = new MagicString(code);
    const sites: Site[] = [];
    const sitesVar = `__cti_sites_${opts.id}`;
    const imports = importNames(root);
    const redacted = (name: string) => REDACT.test(name);

    const line = (n: Node) => lines.line(n.startPosition.row);
    const nil = (call: string) => `if __cti_s != nil { ${call} }; `;

    /** Inserts `text` right after the `{` of a block. */
    const atBlockStart = (block: Node, text: string) => s.appendLeft(block.startIndex + 1, ` ${text}`);
    /** Inserts `text` at the start of a case clause's statements (after its colon). */
    const atClauseStart = (clause: Node, text: string) => {
      const colon = clause.children.find((c) => c?.type === ':');
      if (colon) s.appendLeft(colon.endIndex, ` ${text}`);
    };
    const varCalls = (names: Node[], at: number) =>
      names
        .map((n) => (redacted(n.text) ? `__cti_s.VarRedacted(${q(n.text)}, ${at})` : `__cti_s.Var(${q(n.text)}, ${at}, ${n.text})`))
        .join('; ');

    const instrumentFunction = (fn: Node, ctx: FnCtx) => {
      const body = fn.childForFieldName('body')!;
      const params = fn.childForFieldName('parameters');
      const result = fn.childForFieldName('result');
      const nameNode = fn.childForFieldName('name');
      sites.push({ name: ctx.name, file: lines.file(fn.startPosition.row), line: line(nameNode && fn.type === 'method_declaration' ? nameNode : fn) });
      const siteIndex = sites.length - 1;

      const args: string[] = [];
      for (const p of params?.namedChildren ?? []) {
        if (p?.type !== 'parameter_declaration' && p?.type !== 'variadic_parameter_declaration') continue;
        for (const n of p.childrenForFieldName('name')) {
          if (!n || n.text === '_') continue;
          args.push(redacted(n.text) ? `__cti_s.ArgRedacted(${q(n.text)})` : `__cti_s.Arg(${q(n.text)}, ${n.text})`);
        }
      }

      // Results are read by the deferred call, so they need names: unnamed ones get __cti_rN.
      const results: string[] = [];
      let errorResult: string | undefined;
      if (result?.type === 'parameter_list') {
        const decls = result.namedChildren.filter((d): d is Node => d?.type === 'parameter_declaration');
        const named = decls.some((d) => d.childrenForFieldName('name').length > 0);
        decls.forEach((d) => {
          const type = d.childForFieldName('type')!;
          const names = named ? d.childrenForFieldName('name').filter((n): n is Node => !!n).map((n) => n.text) : [`__cti_r${results.length}`];
          if (!named) {
            s.appendLeft(type.startIndex, `${names[0]} `);
            (ctx.hidden ??= []).push(names[0]!);
          }
          for (const n of names) results.push(type.text === 'error' ? `error:${n}` : n);
        });
        if (named && !results.some((r) => r === '_' || r === 'error:_')) ctx.named = results.map((r) => r.replace(/^error:/, ''));
      } else if (result) {
        s.appendLeft(result.startIndex, '(__cti_r0 ');
        s.appendLeft(result.endIndex, ')');
        ctx.hidden = ['__cti_r0'];
        results.push(result.text === 'error' ? 'error:__cti_r0' : '__cti_r0');
      }
      const last = results.at(-1);
      if (last?.startsWith('error:')) {
        errorResult = last.slice(6);
        results.pop();
      }
      const shown = results.filter((r) => !r.startsWith('error:') && r !== '_').map((r) => r.replace(/^error:/, ''));
      const onReturn = [
        shown.length > 0 && results.every((r) => r !== '_') ? `__cti_s.Return(${shown.join(', ')})` : '',
        errorResult && errorResult !== '_' ? `__cti_s.Error(${errorResult})` : '',
      ].filter(Boolean);
      // The deferred end is a runtime call given pointers (rt/done.go), not a closure, which would
      // shift the numbers of the function's own closures (F.func2 for F.func1). The closure stays
      // for more results than Done3 takes, or where generics are not allowed.
      const shownReturn = shown.length > 0 && results.every((r) => r !== '_');
      const err = errorResult && errorResult !== '_' ? `&${errorResult}` : undefined;
      const end = onReturn.length > 0 ? `if __cti_s.Returned(__cti_ok) { ${onReturn.join('; ')} }; __cti_s.End(__cti_ok)` : '__cti_s.End(__cti_ok)';
      const deferred = !shownReturn
        ? err ? `__cti_s.DoneE(&__cti_ok, ${err})` : '__cti_s.Done(&__cti_ok)'
        : generics && shown.length <= 3
          ? `__cti.Done${shown.length}(__cti_s, &__cti_ok, ${err ?? 'nil'}, ${shown.map((r) => `&${r}`).join(', ')})`
          : `func() { ${end} }()`;
      atBlockStart(
        body,
        `__cti_s := __cti.Enter(&${sitesVar}[${siteIndex}]); ${args.length > 0 ? nil(args.join('; ')) : ''}__cti_ok := false; defer ${deferred};`,
      );
      if (!result) s.appendLeft(body.endIndex - 1, '; __cti_ok = true ');
    };

    const qualifiedName = (fn: Node): string => {
      const name = fn.childForFieldName('name')!.text;
      if (fn.type === 'function_declaration') return `${opts.pkg}.${name}`;
      const recv = fn.childForFieldName('receiver')?.namedChildren.find((c) => c?.type === 'parameter_declaration');
      let type = recv?.childForFieldName('type');
      let pointer = false;
      if (type?.type === 'pointer_type') {
        pointer = true;
        type = type.namedChildren[0] ?? type;
      }
      if (type?.type === 'parenthesized_type') type = type.namedChildren[0] ?? type;
      const base = type?.type === 'generic_type' ? `${type.childForFieldName('type')!.text}[...]` : (type?.text ?? '?');
      return pointer ? `${opts.pkg}.(*${base}).${name}` : `${opts.pkg}.${base}.${name}`;
    };

    const skipReason = (fn: Node): string | undefined => {
      if (fn.childForFieldName('name')?.text === '_') return 'named _';
      // Directives (//go:nosplit, //go:linkname, //export, …) in the comment lines right above it.
      let row = fn.startPosition.row;
      for (let prev = fn.previousSibling; prev?.type === 'comment' && prev.endPosition.row >= row - 1; prev = prev.previousSibling) {
        if (/^\/\/(go:|export )/.test(prev.text) && !prev.text.startsWith('//go:noinline')) return `directive ${prev.text.split(/\s/)[0]}`;
        if (/^\/\/\s*cti-ignore\b/.test(prev.text)) return 'cti-ignore';
        row = prev.startPosition.row;
      }
      return undefined;
    };

    let functions = 0;
    // Closures are named as the Go runtime names them: F.func1, F.func1.1, pkg.init.func1.
    const pkgLevel: FnCtx = { node: root, name: `${opts.pkg}.init`, closures: 0, loops: 0 };
    const walk = (node: Node, ctx: FnCtx | undefined) => {
      let inner = ctx;
      if ((node.type === 'function_declaration' || node.type === 'method_declaration') && node.childForFieldName('body')) {
        if (skipReason(node)) return;
        inner = { node, name: qualifiedName(node), closures: 0, loops: 0 };
        instrumentFunction(node, inner);
        functions++;
      } else if (node.type === 'func_literal') {
        const outer = ctx ?? pkgLevel;
        outer.closures++;
        const name = outer.node.type === 'func_literal' ? `${outer.name}.${outer.closures}` : `${outer.name}.func${outer.closures}`;
        inner = { node, name, closures: 0, loops: 0 };
        instrumentFunction(node, inner);
        functions++;
      } else if (ctx) {
        visitStatement(node, ctx);
      }
      for (const child of node.namedChildren) if (child) walk(child, inner);
      if (inner !== ctx && inner?.usesNamed) {
        const named = inner.named!;
        atBlockStart(node.childForFieldName('body')!, `${named.map((_, i) => `__cti_n${i}`).join(', ')} := ${named.map((n) => `&${n}`).join(', ')};`);
      }
    };

    const inStatementList = (n: Node) => {
      const p = n.parent;
      return !!p && STATEMENT_LISTS.has(p.type) && p.childForFieldName('communication')?.id !== n.id;
    };

    const visitStatement = (node: Node, ctx: FnCtx) => {
      switch (node.type) {
        case 'return_statement': {
          // `return a, b` becomes `__cti_r0, __cti_r1 = a, b; __cti_ok = true; return`: the flag is
          // set only once the results were evaluated (evaluating them may panic). Results the
          // program named itself may be shadowed where it returns: there the flag comes first.
          const values = node.namedChildren.find((c) => c?.type === 'expression_list');
          const keyword = node.child(0)!;
          if (ctx.hidden && values) {
            s.overwrite(keyword.startIndex, keyword.endIndex, `${ctx.hidden.join(', ')} =`);
            s.appendLeft(values.endIndex, '; __cti_ok = true; return');
          } else if (ctx.named && values) {
            // A bare return is refused where a result is shadowed, hence the values again.
            const targets = ctx.named.map((_, i) => `*__cti_n${i}`).join(', ');
            s.overwrite(keyword.startIndex, keyword.endIndex, `${targets} =`);
            s.appendLeft(values.endIndex, `; __cti_ok = true; return ${targets}`);
            ctx.usesNamed = true;
          } else {
            s.appendLeft(node.startIndex, '__cti_ok = true; ');
          }
          break;
        }
        case 'short_var_declaration':
        case 'assignment_statement': {
          if (!inStatementList(node)) break;
          const targets = (node.childForFieldName('left')?.namedChildren ?? []).filter((n): n is Node => !!n && isSimpleTarget(n));
          if (targets.length > 0) s.appendLeft(node.endIndex, `; ${nil(varCalls(targets, line(node)))}`);
          break;
        }
        case 'inc_statement':
        case 'dec_statement': {
          const t = node.namedChildren[0];
          if (t && isSimpleTarget(t) && inStatementList(node)) s.appendLeft(node.endIndex, `; ${nil(varCalls([t], line(node)))}`);
          break;
        }
        case 'var_declaration': {
          if (!inStatementList(node)) break;
          const names = node.namedChildren
            .filter((sp): sp is Node => sp?.type === 'var_spec' && !!sp.childForFieldName('value'))
            .flatMap((sp) => sp.childrenForFieldName('name').filter((n): n is Node => !!n && n.text !== '_'));
          if (names.length > 0) s.appendLeft(node.endIndex, `; ${nil(varCalls(names, line(node)))}`);
          break;
        }
        case 'for_statement': {
          const body = node.childForFieldName('body');
          if (!body) break;
          const range = node.namedChildren.find((c) => c?.type === 'range_clause');
          const id = ++ctx.loops;
          const targets = (range?.childForFieldName('left')?.namedChildren ?? []).filter((n): n is Node => !!n && n.type === 'identifier' && n.text !== '_');
          const calls = [`__cti_s.Iter(${id}, ${q(range ? 'for-range' : 'for')}, ${line(node)})`];
          if (targets.length > 0) calls.push(varCalls(targets, line(node)));
          atBlockStart(body, nil(calls.join('; ')));
          break;
        }
        case 'if_statement': {
          const kind = node.parent?.type === 'if_statement' && node.parent.childForFieldName('alternative')?.id === node.id ? 'else if' : 'if';
          const cons = node.childForFieldName('consequence');
          if (cons) atBlockStart(cons, nil(`__cti_s.Branch(${q(kind)}, ${line(node)})`));
          const alt = node.childForFieldName('alternative');
          if (alt?.type === 'block') atBlockStart(alt, nil(`__cti_s.Branch("else", ${line(alt)})`));
          break;
        }
        case 'expression_case':
        case 'type_case':
        case 'communication_case':
        case 'default_case': {
          const kind = { expression_case: 'case', type_case: 'type case', communication_case: 'select case', default_case: 'default' }[node.type];
          atClauseStart(node, nil(`__cti_s.Branch(${q(kind)}, ${line(node)})`));
          if (node.type === 'communication_case') {
            const recv = node.childForFieldName('communication');
            const targets = (recv?.type === 'receive_statement' ? recv.childForFieldName('left')?.namedChildren ?? [] : []).filter((n): n is Node => !!n && n.type === 'identifier' && n.text !== '_');
            if (targets.length > 0) atClauseStart(node, nil(varCalls(targets, line(node))));
          }
          break;
        }
        case 'call_expression': {
          const f = node.childForFieldName('function');
          const argsNode = node.childForFieldName('arguments');
          if (f?.type === 'identifier' && f.text === 'recover' && argsNode?.namedChildCount === 0) {
            s.appendLeft(node.startIndex, '__cti.Recovered(');
            s.appendLeft(node.endIndex, ')');
          } else if (f?.type === 'selector_expression' && argsNode?.namedChildCount === 1) {
            const operand = f.childForFieldName('operand')?.text;
            if (operand === imports.os && f.childForFieldName('field')?.text === 'Exit') {
              const arg = argsNode.namedChildren[0]!;
              s.appendLeft(arg.startIndex, '__cti.ExitCode(');
              s.appendLeft(arg.endIndex, ')');
            }
          }
          break;
        }
        case 'expression_statement': {
          const call = node.namedChildren[0];
          const f = call?.type === 'call_expression' ? call.childForFieldName('function') : undefined;
          if (f?.type === 'selector_expression' && f.childForFieldName('operand')?.text === imports.log && /^Fatal(f|ln)?$/.test(f.childForFieldName('field')?.text ?? '') && inStatementList(node)) {
            s.appendLeft(node.startIndex, '__cti.Exiting(); ');
          }
          break;
        }
      }
    };

    walk(root, undefined);
    if (functions === 0) return { code, instrumented: false, functions: 0 };

    s.appendLeft(pkgClause.endIndex, `; import __cti ${q(GO_RUNTIME_IMPORT)}`);
    if (!lines.hasLeadingDirective) s.prepend(`//line ${opts.path}:1:1\n`);
    const table = sites.map((x) => `{Name: ${q(x.name)}, File: ${q(x.file)}, Line: ${x.line}${x.name === 'main.main' ? ', Main: true' : ''}}`).join(', ');
    s.append(`${code.endsWith('\n') ? '' : '\n'}\nvar ${sitesVar} = [...]__cti.Site{${table}}\n`);
    return { code: s.toString(), instrumented: true, functions };
  } finally {
    tree.delete();
  }
}

/**
 * Whether the file may use generics (go1.18): by the package's `-lang`, and by a `//go:build`
 * line of the file, which may lower the file's version (`go1.N` there, N < 18, without `!`).
 */
function allowsGenerics(lang: string | undefined, header: string): boolean {
  const minor = (v: string | undefined) => (v ? Number(/^go1\.(\d+)/.exec(v)?.[1] ?? NaN) : NaN);
  if (minor(lang) < 18) return false;
  const build = /^\/\/go:build (.*)$/m.exec(header)?.[1] ?? '';
  for (const m of build.matchAll(/(!?)go1\.(\d+)\b/g)) if (!m[1] && Number(m[2]) < 18) return false;
  return true;
}

/** A left-hand side whose value can be read again without side effects: `x`, `obj.field`. */
function isSimpleTarget(n: Node): boolean {
  if (n.type === 'identifier') return n.text !== '_';
  return n.type === 'selector_expression' && n.childForFieldName('operand')?.type === 'identifier';
}

/** Local names of the `os` and `log` packages when imported without renaming (else undefined). */
function importNames(root: Node): { os?: string; log?: string } {
  const out: { os?: string; log?: string } = {};
  for (const spec of root.descendantsOfType('import_spec')) {
    if (!spec || spec.childForFieldName('name')) continue;
    const path = spec.childForFieldName('path')?.text.slice(1, -1);
    if (path === 'os') out.os = 'os';
    if (path === 'log') out.log = 'log';
  }
  return out;
}

const q = (s: string) => JSON.stringify(s);

/**
 * Original file and line of a row, honouring `//line` directives already in the file (cgo and
 * cover outputs start with one and contain more).
 */
class LineMap {
  private directives: { row: number; file: string; line: number }[] = [];
  readonly hasLeadingDirective: boolean;

  /** `packageRow`: a directive before the package clause maps the whole file (cgo, cover). */
  constructor(code: string, private path: string, private root: string, packageRow: number) {
    const rows = code.split('\n');
    rows.forEach((text, row) => {
      const m = /^\/\/line (.+?):(\d+)(?::\d+)?\s*$/.exec(text);
      if (m) this.directives.push({ row, file: m[1]!, line: Number(m[2]) });
    });
    this.hasLeadingDirective = (this.directives[0]?.row ?? Infinity) < packageRow;
  }

  private at(row: number) {
    let d: { row: number; file: string; line: number } | undefined;
    for (const x of this.directives) if (x.row < row) d = x;
    return d ? { file: d.file, line: d.line + (row - d.row - 1) } : { file: this.path, line: row + 1 };
  }

  line(row: number): number {
    return this.at(row).line;
  }

  /** The file as `code.file.path`: relative to the module root, `/`-separated. */
  file(row: number): string {
    const f = this.at(row).file.replaceAll('\\', '/');
    const root = this.root.replaceAll('\\', '/').replace(/\/?$/, '/');
    return f.startsWith(root) ? f.slice(root.length) : f;
  }
}
