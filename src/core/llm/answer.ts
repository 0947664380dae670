/**
 * Reading a model's answer: JSON, possibly wrapped in code fences or chatter. Nothing in it is
 * ever run; only `insertions` entries of the expected shape are used.
 */
import type { Insertion } from './insertions.js';

export type ParsedAnswer =
  | { kind: 'insertions'; insertions: Insertion[]; problems: string[] }
  | { kind: 'refusal'; text: string }
  | { kind: 'unreadable'; problem: string };

const REFUSAL = /\b(I can(?:no|')t (?:help|assist|comply|do that)|I(?:'m| am) (?:sorry|unable|not able)|I won't|cannot (?:assist|help) with)\b/i;

/** JSON candidates, best first: the whole text, each fenced block, the outermost {...}. */
function candidates(text: string): string[] {
  const out = [text.trim()];
  for (const m of text.matchAll(/```[a-zA-Z0-9_-]*\s*\n([\s\S]*?)```/g)) out.push(m[1]!.trim());
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) out.push(text.slice(first, last + 1));
  return out;
}

export function parseAnswer(text: string, providerRefusal?: string): ParsedAnswer {
  if (providerRefusal) return { kind: 'refusal', text: providerRefusal };
  let json: unknown;
  for (const c of candidates(text)) {
    try {
      json = JSON.parse(c);
      break;
    } catch {
      // next candidate
    }
  }
  if (json === undefined) {
    if (REFUSAL.test(text)) return { kind: 'refusal', text: text.trim().slice(0, 200) };
    return { kind: 'unreadable', problem: 'the answer contains no valid JSON object' };
  }
  const list = Array.isArray(json) ? json : (json as { insertions?: unknown })?.insertions;
  if (!Array.isArray(list)) {
    return { kind: 'unreadable', problem: 'the JSON has no "insertions" array' };
  }
  const insertions: Insertion[] = [];
  const problems: string[] = [];
  list.forEach((item: unknown, i) => {
    const it = item as Partial<Insertion>;
    const ok = typeof it === 'object' && it !== null && Number.isInteger(it.function) && Number.isInteger(it.line)
      && (it.where === 'before' || it.where === 'after') && typeof it.code === 'string';
    if (ok) insertions.push({ function: it.function!, line: it.line!, where: it.where!, code: it.code! });
    else problems.push(`insertions[${i}] is not {"function": <number>, "line": <number>, "where": "before"|"after", "code": <string>}`);
  });
  return { kind: 'insertions', insertions, problems };
}
