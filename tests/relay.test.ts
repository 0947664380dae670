/**
 * The production relay (`code-telemetry-injector/relay`): a page's spans posted to the app's own
 * server reach the receiver; the page always gets 204 at once, even with the receiver down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctiRelay } from 'code-telemetry-injector/relay';
import { startReceiver, type Receiver } from './browser/harness.js';

const BODY = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans: [{
  traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'relayed', kind: 1,
  startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: [{ key: 'code.function.name', value: { stringValue: 'relayed' } }], events: [], status: { code: 1 },
}] }] }] });

let receiver: Receiver;
const servers: Server[] = [];

async function app(endpoint: string): Promise<string> {
  // An app server that serves its pages and mounts the relay on its own origin.
  const relay = ctiRelay({ endpoint });
  const server = createServer((req, res) => relay(req, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
  for (const s of servers) s.close();
});

describe('ctiRelay', () => {
  it('forwards a posted body to the receiver and answers 204 at once', async () => {
    const base = await app(receiver.url);
    const res = await fetch(`${base}/__cti/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    expect(res.status).toBe(204);
    const deadline = Date.now() + 5000;
    while (receiver.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(receiver.received.flatMap((b) => b.spans.map((s) => s.name))).toEqual(['relayed']);
  });

  it('answers 204 with the receiver down, 405 to other methods, 404 elsewhere', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/v1/traces`;
    await new Promise((r) => dead.close(r));
    const base = await app(deadUrl);
    expect((await fetch(`${base}/__cti/v1/traces`, { method: 'POST', body: BODY })).status).toBe(204);
    expect((await fetch(`${base}/__cti/v1/traces`)).status).toBe(405);
    expect((await fetch(`${base}/index.html`)).status).toBe(404);
  });
});
