/**
 * The warm instrumenter of the cti-go shim: `node daemon.js <socket>` serves package requests
 * (package.ts) over a unix socket, so a build pays Node's start and tree-sitter's loading once
 * instead of once per package. The shim starts it detached on first need and falls back to the
 * one-shot cli.js when it cannot reach it.
 *
 * Protocol, one request per connection: the shim writes the request JSON and shuts down its
 * writing side; the daemon answers `{ files }` or `{ error }` and closes.
 *
 * Requests run on worker threads (up to one per CPU, started as concurrent compiles need them),
 * so the go command's parallel compiles are instrumented in parallel. The daemon exits by itself
 * after CTI_GO_DAEMON_IDLE_MS (default 600000, ten minutes) without a request: long enough for
 * the next build of an edit-and-rebuild loop to find it warm (no Node start, no tree-sitter load:
 * about 0.4 s CPU a build), as gopls or a Gradle daemon stay. While idle it keeps one worker
 * (the others end 3 s after the last request): about 100 MB resident, measured on 2 CPUs.
 */
import { availableParallelism } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { appendFileSync, statSync, unlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { PackageAnswer, PackageRequest } from './package.js';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: node daemon.js <socket>\n');
  process.exit(2);
}
const IDLE_MS = Number(process.env.CTI_GO_DAEMON_IDLE_MS ?? 600_000);
/** Idle time after which the workers but one end (their memory is the bulk of ours). */
const TRIM_MS = Math.min(IDLE_MS, 3000);
const MAX_WORKERS = Math.max(1, availableParallelism());

type Reply = (r: { answer?: PackageAnswer; error?: string }) => void;
interface Slot { worker: Worker; busy: boolean }
const slots: Slot[] = [];
const queue: { request: PackageRequest; reply: Reply }[] = [];
const pending = new Map<number, Reply>();
let nextId = 0;
let active = 0; // connections not yet answered

function startWorker(): Slot {
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  const slot: Slot = { worker, busy: false };
  worker.on('message', ({ id, answer, error }: { id: number; answer?: PackageAnswer; error?: string }) => {
    const reply = pending.get(id);
    pending.delete(id);
    slot.busy = false;
    reply?.({ answer, error });
    dispatch();
  });
  // A worker that died takes its request with it (answered with the error); the queue is then
  // served by the others or a new one.
  const died = (error: string) => {
    const i = slots.indexOf(slot);
    if (i < 0) return;
    slots.splice(i, 1);
    for (const [id, reply] of pending) {
      if ((reply as Reply & { slot?: Slot }).slot === slot) {
        pending.delete(id);
        reply({ error });
      }
    }
    dispatch();
  };
  worker.on('error', (err) => died(err.stack ?? String(err)));
  worker.on('exit', (code) => died(`the instrumenter's worker exited (status ${code})`));
  slots.push(slot);
  return slot;
}

function dispatch(): void {
  while (queue.length > 0) {
    const slot = slots.find((s) => !s.busy) ?? (slots.length < MAX_WORKERS ? startWorker() : undefined);
    if (!slot) return;
    const { request, reply } = queue.shift()!;
    const id = nextId++;
    slot.busy = true;
    pending.set(id, Object.assign(reply, { slot }));
    slot.worker.postMessage({ id, request });
  }
}

let idleTimer: NodeJS.Timeout | undefined;
let trimTimer: NodeJS.Timeout | undefined;
function armIdle(): void {
  clearTimeout(idleTimer);
  clearTimeout(trimTimer);
  idleTimer = setTimeout(() => {
    if (active === 0) shutdown();
  }, IDLE_MS);
  trimTimer = setTimeout(() => {
    // A terminated worker leaves slots through its 'exit' handler (it holds no request).
    if (active === 0) for (const slot of slots.slice(1)) if (!slot.busy) void slot.worker.terminate();
  }, TRIM_MS);
}

let ino = -1;
function shutdown(): void {
  // Remove our socket (not one a newer daemon has put in its place) and exit at once: the
  // go command may be waiting for nothing else. A connection that raced us sees a reset and
  // the shim starts a new daemon or runs the one-shot instrumenter.
  try {
    if (statSync(socketPath).ino === ino) unlinkSync(socketPath);
  } catch {}
  // bench/go/run.mjs adds our CPU time (threads included) to the build's: we are no child of it.
  if (process.env.CTI_GO_DAEMON_CPU_LOG) {
    const { user, system } = process.cpuUsage();
    try {
      appendFileSync(process.env.CTI_GO_DAEMON_CPU_LOG, `${(user + system) / 1e6}\n`);
    } catch {}
  }
  process.exit(0);
}

function serve(conn: Socket): void {
  active++;
  clearTimeout(idleTimer);
  clearTimeout(trimTimer);
  const chunks: Buffer[] = [];
  let done = false;
  const finish = (body: string | undefined) => {
    if (done) return;
    done = true;
    active--;
    if (body !== undefined) conn.end(body);
    else conn.destroy();
    if (active === 0) armIdle();
  };
  conn.on('data', (c: Buffer) => chunks.push(c));
  conn.on('error', () => finish(undefined));
  conn.on('end', () => {
    let request: PackageRequest;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PackageRequest;
    } catch (err) {
      finish(JSON.stringify({ error: `bad request: ${String(err)}` }));
      return;
    }
    queue.push({ request, reply: ({ answer, error }) => finish(JSON.stringify(error !== undefined ? { error } : answer)) });
    dispatch();
  });
}

// The shim holds a lock while it starts us, so a socket file here is a dead daemon's.
try {
  unlinkSync(socketPath);
} catch {}
const server = createServer({ allowHalfOpen: true }, serve);
server.on('error', (err) => {
  process.stderr.write(`cti-go daemon: ${err.message}\n`);
  process.exit(1);
});
server.listen(socketPath, () => {
  ino = statSync(socketPath).ino;
  // Load the instrumenter in a first worker while the first request is on its way.
  if (slots.length === 0) startWorker();
  armIdle();
});
