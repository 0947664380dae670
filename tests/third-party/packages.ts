/**
 * The third-party packages whose own test suites run against cti's output (tests/third-party.test.ts).
 * Each ships its tests in the npm tarball (`npm pack <pkg>@<version> --dry-run --json` lists test/).
 * Every version is exact, so the expectations below (function names, the lines they are found by,
 * pass counts) describe fixed code.
 */

/** A function the suite must have called: found in the ORIGINAL file by `line`, which must match exactly one line. */
export interface ExpectedFunction {
  file: string;
  name: string;
  line: RegExp;
}

export interface PackageSpec {
  name: string;
  version: string;
  /** The package's own source, replaced in the instrumented copy by `cti instrument` output (paths relative to the package root). */
  sources: string[];
  /** The package.json script the suite is run by, and what it must say (the pinned version's own command). */
  script: { key: string; command: string };
  /** Coverage wrappers dropped from that command. */
  wrappers: string[];
  /**
   * Exact versions of what the test files require (its devDependencies, pinned). Checked against the
   * test files' require() calls: nothing more is installed, and nothing they need is missing.
   */
  testDependencies: Record<string, string>;
  /** Exact versions of the package's runtime `dependencies` (the same names as its package.json). */
  dependencies: Record<string, string>;
  /** The suite's `# pass N` must be at least this. */
  minPass: number;
  /** At least this many spans. */
  minSpans: number;
  expectedFunctions: ExpectedFunction[];
  /**
   * What the test files call directly: a span without a parent must be one of these functions (file and
   * the line of its definition), or in one of `rootFiles` (modules the tests call into everywhere).
   */
  entryPoints: { file: string; line: RegExp }[];
  rootFiles?: string[];
  /** Whether the suite makes the library throw (tests of bad input). */
  throws: boolean;
}

/** tape's own version for every suite below (each asks for ^5; this is the newest 5.x the registry has). */
const TAPE = '5.10.2';

export const PACKAGES: PackageSpec[] = [
  {
    name: 'qs',
    version: '6.17.1',
    sources: ['lib'],
    script: { key: 'tests-only', command: "nyc tape 'test/**/*.js'" },
    wrappers: ['nyc'],
    testDependencies: {
      tape: TAPE,
      'es-value-fixtures': '1.7.1',
      'for-each': '0.3.5',
      'has-bigints': '1.1.0',
      'has-override-mistake': '1.0.1',
      'has-property-descriptors': '1.0.2',
      'has-proto': '1.2.0',
      'has-symbols': '1.1.0',
      'iconv-lite': '0.5.2',
      'mock-property': '1.1.2',
      'object-inspect': '1.13.4',
      'safer-buffer': '2.1.2',
    },
    dependencies: { 'es-define-property': '1.0.1', 'side-channel': '1.1.1' },
    minPass: 1500,
    minSpans: 10_000,
    expectedFunctions: [
      { file: 'lib/parse.js', name: 'module.exports', line: /^module\.exports = function \(str, opts\) \{$/ },
      { file: 'lib/parse.js', name: 'parseQueryStringValues', line: /^var parseValues = function parseQueryStringValues\(/ },
      { file: 'lib/parse.js', name: 'parseQueryStringKeys', line: /^var parseKeys = function parseQueryStringKeys\(/ },
      { file: 'lib/parse.js', name: 'parseObject', line: /^var parseObject = function \(/ },
      { file: 'lib/parse.js', name: 'parseArrayValue', line: /^var parseArrayValue = function \(/ },
      { file: 'lib/parse.js', name: 'splitKeyIntoSegments', line: /^var splitKeyIntoSegments = function splitKeyIntoSegments\(/ },
      { file: 'lib/parse.js', name: 'normalizeParseOptions', line: /^var normalizeParseOptions = function normalizeParseOptions\(/ },
      { file: 'lib/parse.js', name: 'interpretNumericEntities', line: /^var interpretNumericEntities = function \(str\)/ },
      { file: 'lib/parse.js', name: 'interpretNumericEntities.<anonymous>', line: /return str\.replace\(\/&#\(\\d\+\);\/g, function/ },
      { file: 'lib/stringify.js', name: 'module.exports', line: /^module\.exports = function \(object, opts\) \{$/ },
      { file: 'lib/stringify.js', name: 'stringify', line: /^var stringify = function stringify\($/ },
      { file: 'lib/stringify.js', name: 'normalizeStringifyOptions', line: /^var normalizeStringifyOptions = function normalizeStringifyOptions\(/ },
      { file: 'lib/stringify.js', name: 'arrayPrefixGenerators.brackets', line: /^ {4}brackets: function brackets\(prefix\)/ },
      { file: 'lib/stringify.js', name: 'arrayPrefixGenerators.indices', line: /^ {4}indices: function indices\(prefix, key\)/ },
      { file: 'lib/stringify.js', name: 'defaults.serializeDate', line: /^ {4}serializeDate: function serializeDate\(date\)/ },
      { file: 'lib/utils.js', name: 'merge', line: /^var merge = function merge\(target, source, options\)/ },
      { file: 'lib/utils.js', name: 'decode', line: /^var decode = function \(str, defaultDecoder, charset\)/ },
      { file: 'lib/utils.js', name: 'encode', line: /^var encode = function encode\(/ },
      { file: 'lib/utils.js', name: 'compact', line: /^var compact = function compact\(value\)/ },
      { file: 'lib/utils.js', name: 'combine', line: /^var combine = function combine\(/ },
      { file: 'lib/utils.js', name: 'maybeMap', line: /^var maybeMap = function maybeMap\(val, fn\)/ },
      { file: 'lib/formats.js', name: 'formatters.RFC3986', line: /^ {8}RFC3986: function \(value\)/ },
    ],
    entryPoints: [
      { file: 'lib/parse.js', line: /^module\.exports = function \(str, opts\) \{$/ },
      { file: 'lib/stringify.js', line: /^module\.exports = function \(object, opts\) \{$/ },
    ],
    // test/utils.js calls the helpers directly; the hex table is built by an IIFE at load time.
    rootFiles: ['lib/utils.js'],
    throws: true,
  },
  {
    name: 'minimist',
    version: '1.2.8',
    sources: ['index.js'],
    script: { key: 'tests-only', command: "nyc tape 'test/**/*.js'" },
    wrappers: ['nyc'],
    testDependencies: { tape: TAPE },
    dependencies: {},
    minPass: 150,
    minSpans: 500,
    expectedFunctions: [
      { file: 'index.js', name: 'module.exports', line: /^module\.exports = function \(args, opts\) \{$/ },
      { file: 'index.js', name: 'hasKey', line: /^function hasKey\(obj, keys\)/ },
      { file: 'index.js', name: 'isNumber', line: /^function isNumber\(x\)/ },
      { file: 'index.js', name: 'isConstructorOrProto', line: /^function isConstructorOrProto\(obj, key\)/ },
      { file: 'index.js', name: 'module.exports.setArg', line: /^\tfunction setArg\(key, val, arg\)/ },
      { file: 'index.js', name: 'module.exports.setKey', line: /^\tfunction setKey\(obj, keys, value\)/ },
      { file: 'index.js', name: 'module.exports.argDefined', line: /^\tfunction argDefined\(key, arg\)/ },
      { file: 'index.js', name: 'module.exports.aliasIsBoolean', line: /^\tfunction aliasIsBoolean\(key\)/ },
    ],
    entryPoints: [{ file: 'index.js', line: /^module\.exports = function \(args, opts\) \{$/ }],
    throws: false,
  },
  {
    name: 'shell-quote',
    version: '1.8.3',
    sources: ['index.js', 'parse.js', 'quote.js'],
    script: { key: 'tests-only', command: "nyc tape 'test/**/*.js'" },
    wrappers: ['nyc'],
    testDependencies: { tape: TAPE },
    dependencies: {},
    minPass: 120,
    minSpans: 500,
    expectedFunctions: [
      { file: 'parse.js', name: 'parse', line: /^module\.exports = function parse\(s, env, opts\)/ },
      { file: 'parse.js', name: 'parseInternal', line: /^function parseInternal\(string, env, opts\)/ },
      { file: 'parse.js', name: 'matchAll', line: /^function matchAll\(s, r\)/ },
      { file: 'parse.js', name: 'getVar', line: /^function getVar\(env, pre, key\)/ },
      { file: 'parse.js', name: 'parseInternal.<anonymous>.parseEnvVar', line: /^\t\tfunction parseEnvVar\(\)/ },
      { file: 'quote.js', name: 'quote', line: /^module\.exports = function quote\(xs\)/ },
    ],
    entryPoints: [
      { file: 'parse.js', line: /^module\.exports = function parse\(s, env, opts\)/ },
      { file: 'quote.js', line: /^module\.exports = function quote\(xs\)/ },
    ],
    throws: true,
  },
];
