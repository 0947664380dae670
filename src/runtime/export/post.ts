// Child-process half of OtlpHttpExporter.flushSync(): the parent is inside process.on('exit'),
// where nothing asynchronous can finish, so it hands the body to this short-lived Node
// process through stdin and waits for it synchronously. Prints one JSON PostResult line.
import { postOnce, type PostResult } from './send.js';

async function main(): Promise<PostResult> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(process.env.CTI_POST_HEADERS ?? '{}') as Record<string, string>;
  } catch {
    // The parent always sends valid JSON; fall back to no headers rather than not sending.
  }
  return postOnce({
    url: process.env.CTI_POST_URL ?? '',
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
    timeoutMs: Number(process.env.CTI_POST_TIMEOUT) || 3000,
  });
}

const result = await main();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = result.ok ? 0 : 1;
