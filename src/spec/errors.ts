import { relative, isAbsolute } from 'node:path';
import { UserError } from '../util/errors.js';

/** Where a value came from: a line/column in a spec file, or a --set / --grid argument. */
export interface Pos {
  file: string;
  /** 1-based; absent for command-line arguments. */
  line?: number;
  col?: number;
}

/** One problem of a spec: where, which key, and what is wrong. */
export interface Problem {
  pos?: Pos;
  /** Dotted key path ('' for the document itself). */
  path: string;
  message: string;
}

export function displayFile(file: string): string {
  if (file.startsWith('--')) return file;
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export function formatPos(pos: Pos | undefined): string {
  if (!pos) return '';
  const f = displayFile(pos.file);
  return pos.line !== undefined ? `${f}:${pos.line}:${pos.col ?? 1}` : f;
}

export function formatProblem(p: Problem): string {
  const where = formatPos(p.pos);
  const key = p.path ? `${p.path}: ` : '';
  return `${where ? `${where}: ` : ''}${key}${p.message}`;
}

/**
 * Every problem of a spec, one line each (`file:line:col: key.path: expected X, found Y`).
 * A UserError: the CLI prints it without a stack trace and exits 2.
 */
export class SpecError extends UserError {
  readonly problems: Problem[];
  constructor(problems: Problem[], file?: string) {
    const uniq = dedupeProblems(problems);
    const lines = uniq.map(formatProblem);
    const n = uniq.length;
    const tail = file ? `${n} problem${n === 1 ? '' : 's'} in ${displayFile(file)}` : `${n} problem${n === 1 ? '' : 's'}`;
    super(n > 1 || file ? `${lines.join('\n')}\n${tail}` : lines.join('\n'), 2);
    this.name = 'SpecError';
    this.problems = uniq;
  }
}

function dedupeProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    const k = formatProblem(p);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out;
}

/** Collects problems; `throwIfAny` raises one SpecError with all of them. */
export class Problems {
  readonly list: Problem[] = [];
  add(pos: Pos | undefined, path: string, message: string): void {
    this.list.push({ pos, path, message });
  }
  get size(): number {
    return this.list.length;
  }
  throwIfAny(file?: string): void {
    if (this.list.length) throw new SpecError(this.list, file);
  }
}
