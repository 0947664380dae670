/**
 * Builds Jaeger (v2, an OpenTelemetry Collector distribution) from the Go module proxy, once per
 * version, into ~/.cache/cti-test/jaeger-<version>/jaeger (outside the repository, shared by every
 * checkout on the machine). Nothing is skipped: without Go or the proxy the build fails loudly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const JAEGER_VERSION = 'v1.76.0';
const MODULE = 'github.com/jaegertracing/jaeger';
const PACKAGE = `${MODULE}/cmd/jaeger`;
/**
 * Cold (empty Go build and module caches) the build took 21 min wall on 2 cores shared with other
 * builds (9.3 CPU-min); with Go's caches warm, 24 s. CI has 90 min for the whole run.
 */
const BUILD_TIMEOUT_MS = 45 * 60_000;

const cacheDir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cti-test', `jaeger-${JAEGER_VERSION}`);
export const JAEGER_BINARY = join(cacheDir, 'jaeger');

// `go install pkg@version` refuses Jaeger's module (its go.mod has a replace directive), so the
// build goes through a tiny wrapper module that requires it as a tool and repeats that directive.
const WRAPPER_GO_MOD = `module cti-test/jaeger

go 1.24

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
`;

function goEnv(): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: never download another Go; GOFLAGS: ignore a user's -mod=vendor and the like.
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GOWORK: 'off' };
}

/** Runs one command in its own process group, so that the timeout also ends the compilers it started. */
function run(cmd: string, args: string[], cwd: string, log: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: goEnv(), stdio: ['ignore', log, log], detached: true });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      reject(new Error(`timed out after ${BUILD_TIMEOUT_MS / 60_000} min`));
    }, Math.max(0, deadline - Date.now()));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${signal ?? code}`));
    });
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Another checkout on this machine may be building the same version: the lock directory names
 * its pid; wait for its binary rather than building twice. A dead owner's lock is taken over.
 */
async function takeLock(lock: string, deadline: number): Promise<boolean> {
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return true;
    } catch {
      if (existsSync(JAEGER_BINARY)) return false;
      const owner = Number(readFileSafe(join(lock, 'pid')));
      if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for the Jaeger build of process ${owner} (lock ${lock})`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

function readFileSafe(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** The path of a built Jaeger binary, building it first when the cache has none. */
export async function ensureJaeger(): Promise<string> {
  if (existsSync(JAEGER_BINARY)) return JAEGER_BINARY;
  if (spawnSync('go', ['version'], { env: goEnv() }).status !== 0) {
    throw new Error('The Jaeger interop test (tests/interop-jaeger.test.ts) builds Jaeger from the Go module proxy '
      + 'and needs the Go toolchain (>= 1.24) on PATH: `go` was not found.');
  }
  mkdirSync(cacheDir, { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  const lock = `${cacheDir}.lock`;
  if (!(await takeLock(lock, deadline))) return JAEGER_BINARY;
  const src = join(cacheDir, 'src');
  const logPath = join(cacheDir, 'build.log');
  const tmp = `${JAEGER_BINARY}.tmp-${process.pid}`;
  const started = Date.now();
  console.log(`Building Jaeger ${JAEGER_VERSION} from the Go module proxy (once; log: ${logPath}) ...`);
  const log = openSync(logPath, 'w');
  try {
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'go.mod'), WRAPPER_GO_MOD);
    await run('go', ['get', '-tool', `${PACKAGE}@${JAEGER_VERSION}`], src, log, deadline);
    await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, PACKAGE], src, log, deadline);
    renameSync(tmp, JAEGER_BINARY);
  } catch (e) {
    const tail = readFileSafe(logPath).trim().split('\n').slice(-25).join('\n');
    throw new Error(`Building Jaeger ${JAEGER_VERSION} from the Go module proxy failed: ${(e as Error).message}\n`
      + `(needs Go and the module proxy; full log: ${logPath})\n${tail}`);
  } finally {
    closeSync(log);
    rmSync(tmp, { force: true });
    rmSync(lock, { recursive: true, force: true });
  }
  console.log(`Built Jaeger ${JAEGER_VERSION} in ${Math.round((Date.now() - started) / 1000)} s: ${JAEGER_BINARY}`);
  return JAEGER_BINARY;
}
