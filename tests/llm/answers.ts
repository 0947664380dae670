/** Scripted model answers for the samples: what a good model would say, and typical bad answers. */
import { statementsIn } from './fake-llm.js';

/** 'enter'/'exit': the statement; 'try'/'finally': the statement wrapped as the Java advice says; 'ensure': Ruby's. */
export type Plan = Record<number, Array<{ kind: 'enter' | 'exit' | 'try' | 'finally' | 'ensure'; line: number; where: 'before' | 'after' }>>;

/** Calc.java: entry then `try {` after each opening line, `} finally { exit }` before each closing brace. */
export const CALC_PLAN: Plan = {
  1: [{ kind: 'try', line: 2, where: 'after' }, { kind: 'finally', line: 5, where: 'before' }],
  2: [{ kind: 'try', line: 7, where: 'after' }, { kind: 'finally', line: 12, where: 'before' }],
  3: [{ kind: 'try', line: 14, where: 'after' }, { kind: 'finally', line: 16, where: 'before' }],
};

/** Calc.java the old way: exit before each return (accepted; the exit precedes the return's expression). */
export const CALC_BEFORE_RETURN_PLAN: Plan = {
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
    for (const step of steps) {
      const code = step.kind === 'try' ? `${s.enter}\ntry {` : step.kind === 'finally' ? `} finally {\n    ${s.exit}\n}` : step.kind === 'ensure' ? `ensure\n  ${s.exit}` : s[step.kind];
      insertions.push({ function: Number(id), line: step.line, where: step.where, code });
    }
  }
  return JSON.stringify({ insertions });
}

/** C: the exit is a cleanup-attribute guard placed once, right after the entry. */
export const C_PLAN: Plan = {
  1: [{ kind: 'enter', line: 3, where: 'after' }, { kind: 'exit', line: 3, where: 'after' }],
  2: [{ kind: 'enter', line: 8, where: 'after' }, { kind: 'exit', line: 8, where: 'after' }],
  3: [{ kind: 'enter', line: 15, where: 'after' }, { kind: 'exit', line: 15, where: 'after' }],
};

/** Rust: the exit is a Drop guard placed once, right after the entry. */
export const RUST_PLAN: Plan = {
  1: [{ kind: 'enter', line: 1, where: 'after' }, { kind: 'exit', line: 1, where: 'after' }],
  2: [{ kind: 'enter', line: 6, where: 'after' }, { kind: 'exit', line: 6, where: 'after' }],
  3: [{ kind: 'enter', line: 13, where: 'after' }, { kind: 'exit', line: 13, where: 'after' }],
};

/** C++: the exit is a destructor guard placed once, right after the entry (calc.cpp has C's lines). */
export const CPP_PLAN: Plan = C_PLAN;

/** Bash: exit before each `return` and before each closing brace. */
export const BASH_PLAN: Plan = {
  1: [{ kind: 'enter', line: 4, where: 'after' }, { kind: 'exit', line: 7, where: 'before' }],
  2: [{ kind: 'enter', line: 9, where: 'after' }, { kind: 'exit', line: 12, where: 'before' }, { kind: 'exit', line: 15, where: 'before' }],
  3: [{ kind: 'enter', line: 17, where: 'after' }, { kind: 'exit', line: 19, where: 'before' }],
  4: [{ kind: 'enter', line: 21, where: 'after' }, { kind: 'exit', line: 25, where: 'before' }],
};

/** Ruby: entry after the `def` line, `ensure` + exit before the final `end` (the last expression stays the value). */
export const RUBY_PLAN: Plan = {
  1: [{ kind: 'enter', line: 2, where: 'after' }, { kind: 'ensure', line: 5, where: 'before' }],
  2: [{ kind: 'enter', line: 7, where: 'after' }, { kind: 'ensure', line: 12, where: 'before' }],
  3: [{ kind: 'enter', line: 14, where: 'after' }, { kind: 'ensure', line: 16, where: 'before' }],
};

/** PHP (braces on their own lines): entry and `try {` after the `{`, `} finally { exit }` before the `}`. */
export const PHP_PLAN: Plan = {
  1: [{ kind: 'try', line: 4, where: 'after' }, { kind: 'finally', line: 7, where: 'before' }],
  2: [{ kind: 'try', line: 10, where: 'after' }, { kind: 'finally', line: 15, where: 'before' }],
  3: [{ kind: 'try', line: 18, where: 'after' }, { kind: 'finally', line: 20, where: 'before' }],
};

/** A scripted model that knows the samples: picks the plan by the file named in the prompt. */
export function sampleModel(prompt: string): { text: string } {
  const plan = prompt.includes('Calc.java') ? CALC_PLAN : prompt.includes('calc.rb') ? RUBY_PLAN : prompt.includes('calc.php') ? PHP_PLAN : prompt.includes('calc.cpp') ? CPP_PLAN : prompt.includes('calc.c') ? C_PLAN : prompt.includes('calc.rs') ? RUST_PLAN : prompt.includes('calc.sh') ? BASH_PLAN : {};
  return { text: answerFor(plan, prompt) };
}
