/**
 * What went wrong before, per language, kept in the cache directory (llm-lessons/<language>.json):
 * validation failures and, when a retry then passed, what the accepted answer did. A bounded
 * selection (the latest distinct ones) goes into later prompts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Lesson { problem: string; fix?: string; count: number; last: string }

const KEEP = 40;
const IN_PROMPT = 5;

export class LessonBook {
  private readonly byLanguage = new Map<string, Lesson[]>();

  /** dir null: lessons live only for this run. */
  constructor(private readonly dir: string | null) {}

  private file(language: string): string | null {
    return this.dir && join(this.dir, `${language.replace(/[^a-z0-9_]/gi, '_')}.json`);
  }

  list(language: string): Lesson[] {
    let lessons = this.byLanguage.get(language);
    if (!lessons) {
      lessons = [];
      const file = this.file(language);
      try {
        if (file) lessons = (JSON.parse(readFileSync(file, 'utf8')) as { lessons: Lesson[] }).lessons.filter((l) => typeof l?.problem === 'string');
      } catch {
        lessons = [];
      }
      this.byLanguage.set(language, lessons);
    }
    return lessons;
  }

  /** Lines for a prompt: the most recent lessons, fixes first. */
  forPrompt(language: string): string[] {
    const recent = [...this.list(language)].sort((a, b) => Number(!!b.fix) - Number(!!a.fix) || b.last.localeCompare(a.last)).slice(0, IN_PROMPT);
    return recent.map((l) => (l.fix ? `${l.problem} — what worked: ${l.fix}` : l.problem));
  }

  record(language: string, problem: string, fix?: string): void {
    // Line numbers differ from file to file; the same mistake should count as one lesson.
    const general = problem.replace(/\b(line|lines) \d+(-\d+)?/g, '$1 N').replace(/function \d+ \(([^)]*)\)/g, 'a function').slice(0, 300);
    const lessons = this.list(language);
    const known = lessons.find((l) => l.problem === general);
    const now = new Date().toISOString();
    if (known) {
      known.count++;
      known.last = now;
      if (fix) known.fix = fix.slice(0, 300);
    } else {
      lessons.push({ problem: general, ...(fix ? { fix: fix.slice(0, 300) } : {}), count: 1, last: now });
    }
    lessons.sort((a, b) => b.last.localeCompare(a.last));
    lessons.splice(KEEP);
    const file = this.file(language);
    if (!file) return;
    try {
      mkdirSync(this.dir!, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify({ language, lessons }, null, 1)}\n`);
      renameSync(temp, file);
    } catch {
      // Lessons are an optimisation: a read-only cache directory just means none are kept.
    }
  }
}
