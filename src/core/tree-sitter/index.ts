/**
 * Tree-sitter front end shared by the non-JS languages.
 *
 * Everything per-language is data under `grammars/`: `languages.json` maps ids to
 * file extensions and the tree-sitter-wasms grammar, and `grammars/<queries>/<name>.scm`
 * holds the queries (see grammars/README.md for the capture conventions).
 *
 * Offsets (`startIndex`, `bodyStartIndex`, ...) are web-tree-sitter's: UTF-16 code-unit
 * offsets into the JS source string (what `String#slice` and MagicString use), not UTF-8 bytes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Language, Parser, Query, type Node, type Tree } from 'web-tree-sitter';

export type { Language, Node, Query, Tree } from 'web-tree-sitter';

/** One entry of grammars/languages.json. */
export interface LanguageInfo {
  /** Short id, e.g. `python`, `c_sharp`. */
  id: string;
  /** Display name. */
  name: string;
  /** Lower-case extensions with the dot, e.g. `.py`. */
  extensions: string[];
  /** File name under `tree-sitter-wasms/out/`. */
  wasm: string;
  /** Directory under `grammars/` holding the `.scm` queries. */
  queries: string;
  /** Line comment token, e.g. `//`, `#`, `--`. */
  lineComment: string;
}

/** A function, method, closure or lambda found by a language's `functions.scm`. */
export interface FunctionInfo {
  /** The captured `@name`, or {@link ANONYMOUS}. */
  name: string;
  /** Tree-sitter type of the `@function` node, e.g. `function_definition`, `func_literal`. */
  nodeType: string;
  /** 1-based lines of the `@function` node. */
  startLine: number;
  endLine: number;
  /** Offsets of the `@function` node in the source string. */
  startIndex: number;
  endIndex: number;
  /** Offsets of the `@body` node in the source string. */
  bodyStartIndex: number;
  bodyEndIndex: number;
}

export interface SyntaxErrorInfo {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  message: string;
}

/** Name reported for a function without a `@name` capture. */
export const ANONYMOUS = '<anonymous>';

/** Package root: this file is src/core/tree-sitter/index.ts or dist/core/tree-sitter/index.js. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GRAMMARS_DIR = join(PACKAGE_ROOT, 'grammars');
const requireFromHere = createRequire(import.meta.url);

let languageTable: LanguageInfo[] | undefined;
let initPromise: Promise<void> | undefined;
const languageCache = new Map<string, Promise<Language>>();
/** The latest grammar load: the next one waits for it. */
let loading: Promise<Language> | undefined;
const parserCache = new Map<string, Parser>();
const queryCache = new Map<string, Promise<Query>>();

/** All languages of grammars/languages.json. */
export function languages(): readonly LanguageInfo[] {
  languageTable ??= JSON.parse(readFileSync(join(GRAMMARS_DIR, 'languages.json'), 'utf8')) as LanguageInfo[];
  return languageTable;
}

export function languageInfo(id: string): LanguageInfo | undefined {
  return languages().find((l) => l.id === id);
}

/** The language of a file, by extension; undefined when none matches. */
export function languageForFile(filename: string): LanguageInfo | undefined {
  const ext = extname(filename).toLowerCase();
  if (!ext) return undefined;
  return languages().find((l) => l.extensions.includes(ext));
}

function requireInfo(id: string): LanguageInfo {
  const info = languageInfo(id);
  if (!info) throw new Error(`Unknown tree-sitter language "${id}"`);
  return info;
}

/** The grammar of a language, loaded once from tree-sitter-wasms. */
export function loadLanguage(id: string): Promise<Language> {
  let cached = languageCache.get(id);
  if (!cached) {
    initPromise ??= Parser.init().catch((error: unknown) => {
      initPromise = undefined;
      throw error;
    });
    // One load at a time: web-tree-sitter links each grammar's module into shared tables, and two
    // loads in flight mix up their scanners' symbols ("bad export type for '…_scanner_create'").
    cached = loading = Promise.all([initPromise, loading?.catch(() => undefined)])
      .then(() => Language.load(requireFromHere.resolve(`tree-sitter-wasms/out/${requireInfo(id).wasm}`)));
    // A failed load is not cached: the next call retries.
    cached.catch(() => languageCache.delete(id));
    languageCache.set(id, cached);
  }
  return cached;
}

/** Parses `code`. The tree holds WebAssembly memory: call `tree.delete()` when done with it. */
export async function parse(code: string, id: string): Promise<Tree> {
  const language = await loadLanguage(id);
  let parser = parserCache.get(id);
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(language);
    parserCache.set(id, parser);
  }
  const tree = parser.parse(code);
  if (!tree) throw new Error(`tree-sitter could not parse ${id} source`);
  return tree;
}

/** The compiled query `grammars/<queries>/<name>.scm` of a language (cached). Throws if it does not exist or does not compile. */
export function query(id: string, name: string): Promise<Query> {
  const key = `${id}\0${name}`;
  let cached = queryCache.get(key);
  if (!cached) {
    cached = loadLanguage(id).then((language) => {
      const file = join(GRAMMARS_DIR, requireInfo(id).queries, `${name}.scm`);
      let source: string;
      try {
        source = readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`No "${name}" query for ${id}: ${file} cannot be read`, { cause: error });
      }
      try {
        return new Query(language, source);
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
      }
    });
    cached.catch(() => queryCache.delete(key));
    queryCache.set(key, cached);
  }
  return cached;
}

/**
 * Every function of `code` matched by the language's `functions.scm`, in source order
 * (outer before inner). A node matched by several patterns is reported once: by the first
 * pattern in the file that captures its `@name`, else by the first pattern that matched it.
 */
export async function findFunctions(code: string, id: string): Promise<FunctionInfo[]> {
  const functions = await query(id, 'functions');
  const tree = await parse(code, id);
  try {
    const found = new Map<number, { fn: Node; name?: Node; body: Node; pattern: number }>();
    for (const match of functions.matches(tree.rootNode)) {
      let fn: Node | undefined;
      let name: Node | undefined;
      let body: Node | undefined;
      for (const { name: capture, node } of match.captures) {
        if (capture === 'function') fn = node;
        else if (capture === 'name') name ??= node;
        else if (capture === 'body') body ??= node;
      }
      if (!fn || !body) continue;
      // Several patterns may match one node (a lambda bound to a variable, and any lambda):
      // a named match beats an unnamed one, then the pattern written first in the file wins.
      const previous = found.get(fn.id);
      const better = !previous
        || (name && !previous.name)
        || (!name === !previous.name && match.patternIndex < previous.pattern);
      if (better) found.set(fn.id, { fn, name, body, pattern: match.patternIndex });
    }
    return [...found.values()]
      .map(({ fn, name, body }) => ({
        name: name?.text || ANONYMOUS,
        nodeType: fn.type,
        startLine: fn.startPosition.row + 1,
        endLine: fn.endPosition.row + 1,
        startIndex: fn.startIndex,
        endIndex: fn.endIndex,
        bodyStartIndex: body.startIndex,
        bodyEndIndex: body.endIndex,
      }))
      .sort((a, b) => a.startIndex - b.startIndex || b.endIndex - a.endIndex);
  } finally {
    tree.delete();
  }
}

/**
 * ERROR and MISSING nodes of a tree, in source order. The inside of an ERROR node is not
 * searched further: one report per broken region.
 */
export function syntaxErrors(tree: Tree): SyntaxErrorInfo[] {
  const errors: SyntaxErrorInfo[] = [];
  const stack: Node[] = [tree.rootNode];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.isError || node.isMissing) {
      errors.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        message: node.isMissing ? `missing ${JSON.stringify(node.type)}` : unexpected(node),
      });
      continue;
    }
    if (!node.hasError) continue;
    for (let i = node.childCount - 1; i >= 0; i--) {
      const child = node.child(i);
      if (child) stack.push(child);
    }
  }
  return errors;
}

function unexpected(node: Node): string {
  const text = node.text.trim().split('\n', 1)[0] ?? '';
  if (!text) return 'syntax error';
  return `syntax error near ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`;
}
