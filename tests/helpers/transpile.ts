/**
 * Build steps for runBoth's `transpile` option: TypeScript's transpileModule (types stripped,
 * JSX compiled, decorators lowered), so that .ts/.tsx/.jsx fixtures and TC39 decorators run
 * on Node 20. Both copies (original and instrumented) go through the same step.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export interface TranspileOptions {
  /** Files to compile (default: .ts, .tsx, .mts, .cts, .jsx). */
  files?: RegExp;
  /** Output module format (default ESM); .cts files always compile to CommonJS, .mts to ESM. */
  module?: 'esm' | 'cjs';
  /** TypeScript `experimentalDecorators` (legacy decorators); otherwise TC39 decorators are lowered. */
  experimentalDecorators?: boolean;
}

/** The JavaScript file a source compiles to: .ts/.tsx/.jsx → .js, .mts → .mjs, .cts → .cjs. */
export function outputName(name: string): string {
  return name.replace(/\.(m|c)?[jt]sx?$/i, (_, mc: string | undefined) => `.${mc ?? ''}js`);
}

export function tsTranspile(options: TranspileOptions = {}): (name: string, code: string) => { name: string; code: string } | null {
  const files = options.files ?? /\.([mc]?ts|tsx|jsx)$/i;
  return (name, code) => {
    if (!files.test(name)) return null;
    const out = ts.transpileModule(code, {
      fileName: name,
      reportDiagnostics: true,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: /\.cts$/i.test(name) || (options.module === 'cjs' && !/\.mts$/i.test(name)) ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
        jsx: ts.JsxEmit.ReactJSX,
        experimentalDecorators: options.experimentalDecorators ?? false,
        allowJs: true,
        sourceMap: false,
      },
    });
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length) throw new Error(`${name}: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`);
    return { name: outputName(name), code: out.outputText };
  };
}

/**
 * Type-checks a set of TypeScript files (strict), written to `dir`, and returns the errors as
 * `file:line: TSxxxx message`. The runtime import of instrumented code resolves to dist/.
 */
export function typeCheck(files: Record<string, string>, dir: string, extra: ts.CompilerOptions = {}): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    jsx: ts.JsxEmit.ReactJSX,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    ...extra,
  };
  rmSync(dir, { recursive: true, force: true });
  const roots: string[] = [];
  for (const [name, code] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
    roots.push(file);
  }
  const program = ts.createProgram(roots, options);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${relative(dir, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
  rmSync(dir, { recursive: true, force: true });
  return errors;
}
