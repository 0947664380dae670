/** Scripted model answers for the samples: what a good model would say, and typical bad answers. */
import { statementsIn } from './fake-llm.js';

export type Plan = Record<number, Array<{ kind: 'enter' | 'exit'; line: number; where: 'before' | 'after' }>>;

/** Calc.java: entry after each opening line, exit before each return / closing brace. */
export const CALC_PLAN: Plan = {
  1: [{ kind: 'enter', line: 2, where: 'after' }, { kind: 'exit', line: 4, where: 'before' }],
  2: [{ kind: 'enter', line: 7, where: 'after' }, { kind: 'exit', line: 9, where: 'before' }, { kind: 'exit', line: 11, where: 'before' }],
  3: [{ kind: 'enter', line: 14, where: 'after' }, { kind: 'exit', line: 16, where: 'before' }],
};

/** The JSON answer following `plan` for the functions the prompt asks about. */
export function answerFor(plan: Plan, prompt: string): string {
  const insertions = [];
  for (const [id, steps] of Object.entries(plan)) {
    if (!prompt.includes(`## Function ${id}:`)) continue;
    const s = statementsIn(prompt, Number(id));
    for (const step of steps) insertions.push({ function: Number(id), line: step.line, where: step.where, code: s[step.kind] });
  }
  return JSON.stringify({ insertions });
}
