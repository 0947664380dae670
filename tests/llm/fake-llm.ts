/**
 * A local HTTP server speaking the real wire protocols the client libraries use: Ollama
 * (POST /api/chat), OpenAI (POST /v1/chat/completions) and Anthropic (POST /v1/messages).
 * Each request takes the next scripted reply (the last one repeats); every request is recorded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | { text: string; delayMs?: number; inputTokens?: number; outputTokens?: number }
  | { refusal: string }
  | { status: number; message?: string; retryAfter?: string };

/** A reply, or a function of the user prompt (so a scripted model can read line numbers from it). */
export type Script = Array<Reply | ((prompt: string) => Reply)>;

export interface Recorded { path: string; model: string; prompt: string }

export interface FakeLlm {
  url: string;
  requests: Recorded[];
  script: Script;
  /** Most requests that were being answered at the same time. */
  maxInFlight: number;
  close(): Promise<void>;
}

function body(path: string, model: string, reply: Reply): { status: number; json: unknown; headers?: Record<string, string> } {
  if ('status' in reply) {
    const message = reply.message ?? `status ${reply.status}`;
    const headers = reply.retryAfter !== undefined ? { 'retry-after': reply.retryAfter } : undefined;
    if (path === '/api/chat') return { status: reply.status, json: { error: message }, headers };
    if (path === '/v1/messages') return { status: reply.status, json: { type: 'error', error: { type: reply.status === 529 ? 'overloaded_error' : 'api_error', message } }, headers };
    return { status: reply.status, json: { error: { message, type: 'server_error', code: null } }, headers };
  }
  const refusal = 'refusal' in reply ? reply.refusal : null;
  const text = 'text' in reply ? reply.text : '';
  const input = 'text' in reply ? reply.inputTokens ?? 1000 : 50;
  const output = 'text' in reply ? reply.outputTokens ?? 200 : 10;
  if (path === '/api/chat') {
    return { status: 200, json: { model, created_at: new Date().toISOString(), message: { role: 'assistant', content: refusal ?? text }, done: true, done_reason: 'stop', prompt_eval_count: input, eval_count: output } };
  }
  if (path === '/v1/messages') {
    return { status: 200, json: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: refusal ?? text }], stop_reason: refusal ? 'refusal' : 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: output } } };
  }
  return {
    status: 200,
    json: {
      id: 'chatcmpl-1', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, message: { role: 'assistant', content: refusal ? null : text, refusal }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    },
  };
}

function promptOf(path: string, req: { messages?: Array<{ role: string; content: unknown }> }): string {
  const user = (req.messages ?? []).filter((m) => m.role === 'user').at(-1)?.content;
  if (typeof user === 'string') return user;
  if (Array.isArray(user)) return user.map((b: { text?: string }) => b.text ?? '').join('');
  return path;
}

export async function startFakeLlm(script: Script): Promise<FakeLlm> {
  const fake: FakeLlm = { url: '', requests: [], script, maxInFlight: 0, close: async () => {} };
  let inFlight = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      if (!['/api/chat', '/v1/chat/completions', '/v1/messages'].includes(path)) {
        res.writeHead(404).end();
        return;
      }
      const parsed = JSON.parse(raw) as { model: string; messages?: Array<{ role: string; content: unknown }> };
      const prompt = promptOf(path, parsed);
      const i = fake.requests.length;
      fake.requests.push({ path, model: parsed.model, prompt });
      const step = fake.script[Math.min(i, fake.script.length - 1)]!;
      const reply = typeof step === 'function' ? step(prompt) : step;
      const { status, json, headers } = body(path, parsed.model, reply);
      fake.maxInFlight = Math.max(fake.maxInFlight, ++inFlight);
      const send = () => {
        inFlight--;
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      const delay = 'delayMs' in reply ? reply.delayMs ?? 0 : 0;
      if (delay) setTimeout(send, delay).unref();
      else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  return fake;
}

/** Function `id`'s entry and exit statements as the prompt gives them. */
export function statementsIn(prompt: string, id: number): { enter: string; exit: string } {
  const section = prompt.split(`## Function ${id}:`)[1]!;
  const after = (label: string) => section.split(`${label}\n`)[1]!.split('\n')[0]!;
  return { enter: after('Entry statement:'), exit: after('Exit statement:') };
}
