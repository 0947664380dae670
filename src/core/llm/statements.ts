/**
 * The statements the model places, per language: standard library only, one JSON event per line
 * ({"ev":"cti.enter"|"cti.exit","fn","file","line","lang","ts" (Unix ns),"tid"}) to stderr, or
 * appended to $CTI_TRACES_FILE. The tool writes them (the model only says where they go), so what
 * runs is never text a model made up; `cti ingest` turns the stream into spans.
 */

export type EventKind = 'enter' | 'exit';

export interface EventSite { fn: string; file: string; line: number }

export interface LanguageStatements {
  /** One line of code (a statement or block) emitting the event. */
  statement(kind: EventKind, site: EventSite): string;
  /** Lines the file needs for the statements (includes, imports), each added when missing: at the
   * top, or after the last line matching `preludeAfter`. */
  prelude?: string[];
  preludeAfter?: RegExp;
  /** How an exit on every path is best written in this language (goes into the prompt). */
  exitAdvice: string;
  /**
   * A scope guard running the exit statement when the function ends by any path (a destructor,
   * Drop, defer): then it is what the model places, once, after the entry statement, and the exit
   * happens after a `return`'s expression is evaluated, as it should.
   */
  exitGuard?: (exitStatement: string, site: EventSite) => string;
  /**
   * The only code an answer may add besides the statements: `try {` right after the entry with
   * `} finally { exit }` before the closing line, or `ensure` + exit before Ruby's final `end`.
   */
  wrap?: 'try-finally' | 'ensure';
}

/** Marker each statement carries, in every language's escaping: validation looks for it. */
export const marker = (kind: EventKind) => `cti.${kind}`;

/** The JSON text of the fixed fields, e.g. `{"ev":"cti.enter","fn":"f","file":"a.c","line":3,"lang":"c"`. */
function head(kind: EventKind, site: EventSite, lang: string): string {
  return `{"ev":"${marker(kind)}","fn":${JSON.stringify(site.fn)},"file":${JSON.stringify(site.file)},"line":${site.line},"lang":"${lang}"`;
}

/** Contents of a double-quoted C-family string literal. */
const dq = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

const C_INCLUDES = ['#include <stdio.h>', '#include <stdlib.h>', '#include <time.h>'];

const cFamily = (lang: string): Omit<LanguageStatements, 'exitAdvice'> => ({
  statement: (kind, site) =>
    `{ struct timespec cti_ts; timespec_get(&cti_ts, TIME_UTC); const char *cti_p = getenv("CTI_TRACES_FILE"); FILE *cti_f = cti_p ? fopen(cti_p, "a") : NULL; `
    + `fprintf(cti_f ? cti_f : stderr, "${dq(head(kind, site, lang).replace(/%/g, '%%'))},\\"ts\\":%lld%09ld}\\n", (long long)cti_ts.tv_sec, (long)cti_ts.tv_nsec); if (cti_f) fclose(cti_f); }`,
  prelude: C_INCLUDES,
  // After the file's own includes: feature-test macros stay before every include, and what the
  // prelude defines sees the headers it needs.
  preludeAfter: /^[ \t]*#[ \t]*include\b.*$/gm,
});

/** C's exit: a variable whose cleanup function (GCC and Clang) writes the event when the function
 * ends, after a `return`'s expression was evaluated; the function is added to the file once. */
const C_EXIT_EVENT =
  '__attribute__((unused)) static void cti_exit_event(const char *const *cti_h) { struct timespec cti_ts; timespec_get(&cti_ts, TIME_UTC); '
  + 'const char *cti_p = getenv("CTI_TRACES_FILE"); FILE *cti_f = cti_p ? fopen(cti_p, "a") : NULL; '
  + 'fprintf(cti_f ? cti_f : stderr, "%s,\\"ts\\":%lld%09ld}\\n", *cti_h, (long long)cti_ts.tv_sec, (long)cti_ts.tv_nsec); if (cti_f) fclose(cti_f); }';

export const STATEMENTS: Record<string, LanguageStatements> = {
  c: {
    ...cFamily('c'),
    prelude: [...C_INCLUDES, C_EXIT_EVENT],
    exitGuard: (_exit, site) => `__attribute__((cleanup(cti_exit_event))) const char *const cti_exit = "${dq(head('exit', site, 'c'))}";`,
    exitAdvice: 'the exit statement is a scope guard (a variable with a cleanup function, GCC and Clang): put it once, right after the entry statement',
  },
  cpp: {
    ...cFamily('cpp'),
    exitGuard: (exit) => `struct CtiExit { ~CtiExit() ${exit} } cti_exit;`,
    exitAdvice: 'the exit statement is a scope guard: put it once, right after the entry statement (in a constructor with an initializer list, at the start of the body)',
  },
  java: {
    wrap: 'try-finally',
    statement: (kind, site) =>
      `{ java.time.Instant cti_i = java.time.Instant.now(); String cti_l = "${dq(head(kind, site, 'java'))},\\"ts\\":" + (cti_i.getEpochSecond() * 1000000000L + cti_i.getNano()) + ",\\"tid\\":" + Thread.currentThread().getId() + "}"; `
      + 'String cti_p = System.getenv("CTI_TRACES_FILE"); if (cti_p == null) System.err.println(cti_l); else try { java.nio.file.Files.writeString(java.nio.file.Path.of(cti_p), cti_l + "\\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND); } catch (java.io.IOException cti_e) { } }',
    exitAdvice: 'wrap the body so the exit runs on every path: add `try {` after the entry statement and, before the closing brace of the method, `} finally {`, the exit statement and `}`; in a constructor, the entry goes after a super(...)/this(...) call',
  },
  rust: {
    statement: (kind, site) =>
      `{ use std::io::Write as _; let cti_ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0); `
      + `let cti_l = format!("${dq(head(kind, site, 'rust')).replace(/\{/g, '{{').replace(/\}/g, '}}')},\\"ts\\":{},\\"tid\\":\\"{:?}\\"}}\\n", cti_ts, std::thread::current().id()); `
      + 'match std::env::var_os("CTI_TRACES_FILE") { Some(cti_p) => { if let Ok(mut cti_f) = std::fs::OpenOptions::new().create(true).append(true).open(cti_p) { let _ = cti_f.write_all(cti_l.as_bytes()); } } None => { let _ = std::io::stderr().write_all(cti_l.as_bytes()); } } }',
    exitGuard: (exit) => `struct CtiExit; impl Drop for CtiExit { fn drop(&mut self) ${exit} } let _cti_exit = CtiExit;`,
    exitAdvice: 'the exit statement is a scope guard (Drop): put it once, right after the entry statement',
  },
  ruby: {
    wrap: 'ensure',
    statement: (kind, site) =>
      `cti_l = "${dq(head(kind, site, 'ruby')).replace(/#/g, '\\#')},\\"ts\\":#{Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)},\\"tid\\":#{Thread.current.object_id}}\\n"; (cti_p = ENV["CTI_TRACES_FILE"]) ? File.write(cti_p, cti_l, mode: "a") : $stderr.write(cti_l)`,
    exitAdvice: 'put the exit statement in an `ensure` clause: insert the two lines `ensure` and the statement before the method\'s final `end` (if the method already has an ensure clause, add the statement at its start); never as the last expression (it would change the return value)',
  },
  c_sharp: {
    wrap: 'try-finally',
    statement: (kind, site) =>
      `{ var cti_l = "${dq(head(kind, site, 'c_sharp'))},\\"ts\\":" + ((System.DateTime.UtcNow.Ticks - 621355968000000000L) * 100L) + ",\\"tid\\":" + System.Environment.CurrentManagedThreadId + "}"; `
      + 'var cti_p = System.Environment.GetEnvironmentVariable("CTI_TRACES_FILE"); if (cti_p == null) System.Console.Error.WriteLine(cti_l); else try { System.IO.File.AppendAllText(cti_p, cti_l + "\\n"); } catch (System.IO.IOException) { } }',
    exitAdvice: 'put the exit statement right before every `return` and before the closing brace of a method that can fall off its end, or wrap the body: `try {` after the opening brace and `} finally { <exit> }` before the closing one',
  },
  php: {
    wrap: 'try-finally',
    statement: (kind, site) =>
      `(function ($cti_l) { $cti_p = getenv('CTI_TRACES_FILE'); if ($cti_p === false) { file_put_contents('php://stderr', $cti_l); } else { file_put_contents($cti_p, $cti_l, FILE_APPEND | LOCK_EX); } })('${head(kind, site, 'php').replace(/\\/g, '\\\\').replace(/'/g, "\\'")},"ts":' . ((int) (microtime(true) * 1000000) * 1000) . ',"tid":' . getmypid() . "}\\n");`,
    exitAdvice: 'put the exit statement right before every `return` and before the closing brace of a function that can fall off its end, or wrap the body in `try {` ... `} finally { <exit> }`',
  },
  kotlin: {
    wrap: 'try-finally',
    statement: (kind, site) =>
      `run { val cti_i = java.time.Instant.now(); val cti_l = "${dq(head(kind, site, 'kotlin')).replace(/\$/g, '\\$')},\\"ts\\":" + (cti_i.epochSecond * 1000000000L + cti_i.nano) + ",\\"tid\\":" + Thread.currentThread().id + "}"; `
      + 'val cti_p = System.getenv("CTI_TRACES_FILE"); if (cti_p == null) System.err.println(cti_l) else java.io.File(cti_p).appendText(cti_l + "\\n") }',
    exitAdvice: 'put the exit statement right before every `return` and before the closing brace of a function that can fall off its end, or wrap the body in `try {` ... `} finally { <exit> }`',
  },
  scala: {
    wrap: 'try-finally',
    statement: (kind, site) =>
      `locally({ val cti_i = java.time.Instant.now(); val cti_l = "${dq(head(kind, site, 'scala'))},\\"ts\\":" + (cti_i.getEpochSecond * 1000000000L + cti_i.getNano) + ",\\"tid\\":" + Thread.currentThread().getId + "}"; `
      + 'val cti_p = System.getenv("CTI_TRACES_FILE"); if (cti_p == null) System.err.println(cti_l) else java.nio.file.Files.write(java.nio.file.Paths.get(cti_p), (cti_l + "\\n").getBytes("UTF-8"), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND) })',
    exitAdvice: 'when the body is a block in braces, wrap it so the exit runs after the value is computed: add `try {` after the entry statement and, before the closing brace, `} finally {`, the exit statement and `}` (a try is an expression: its value is the block\'s); otherwise put the exit right before every `return` and before the final expression',
  },
  swift: {
    statement: (kind, site) =>
      `do { let cti_l = "${dq(head(kind, site, 'swift'))},\\"ts\\":\\(UInt64(Date().timeIntervalSince1970 * 1e9)),\\"tid\\":\\(ProcessInfo.processInfo.processIdentifier)}\\n"; `
      + 'if let cti_p = ProcessInfo.processInfo.environment["CTI_TRACES_FILE"] { if !FileManager.default.fileExists(atPath: cti_p) { FileManager.default.createFile(atPath: cti_p, contents: nil) }; if let cti_h = FileHandle(forWritingAtPath: cti_p) { cti_h.seekToEndOfFile(); cti_h.write(cti_l.data(using: .utf8)!); cti_h.closeFile() } } else { FileHandle.standardError.write(cti_l.data(using: .utf8)!) } }',
    prelude: ['import Foundation'],
    exitGuard: (exit) => `defer { ${exit} }`,
    exitAdvice: 'the exit statement is a `defer`: put it once, right after the entry statement',
  },
  bash: {
    // $? is kept at the exit (a function's status is its last command's; a bare `return` returns
    // it), and at the entry unless `set -e` is on (a failing status there would stop the script);
    // a file that cannot be written stops nothing.
    statement: (kind, site) =>
      `cti_rc=$?; printf '%s,"ts":%s,"tid":%s}\\n' '${head(kind, site, 'bash').replace(/'/g, "'\\''")}' "\${EPOCHREALTIME/./}000" "$$" 2>/dev/null >> "\${CTI_TRACES_FILE:-/dev/stderr}" || :; `
      + (kind === 'exit' ? 'cti_status "$cti_rc"' : '[[ $- == *e* ]] || cti_status "$cti_rc"'),
    prelude: ['cti_status() { return "$1"; }'],
    preludeAfter: /^#!.*/g, // after the interpreter line
    exitAdvice: 'put the exit statement right before every `return` and before the closing brace',
  },
};

/** Languages the LLM path can instrument (those with statements above). */
export const LLM_LANGUAGES = Object.keys(STATEMENTS);

/** Bumped when any statement text changes: part of the cache key. */
export const STATEMENTS_VERSION = '4';
