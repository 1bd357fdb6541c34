import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SlurmSettings as SpecSlurmSettings } from '../spec/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { acnnCommand, runDirArgs } from './child.js';
import { selectJobs } from './jobs.js';
import type { LaunchResult, Launcher, RunFlags, RunJob, SelectOptions, SubmittedArray } from './types.js';

/** sbatch settings: the spec's sweep.slurm section (schemas/spec.schema.json), any of it. */
export type SlurmSettings = Partial<SpecSlurmSettings>;

export interface SlurmLauncherOptions {
  jobName: string;
  settings: SlurmSettings;
  /** Where the script goes (with its logs in slurm/ below it). */
  dir: string;
  /** The script's file name in `dir`. */
  scriptName: string;
  /** The working directory of every task. */
  cwd: string;
  /** false: write the script and do not submit it (--no-submit). */
  submit?: boolean;
  /** The program that runs a job, `<program...> run-dir <dir> <flags>` (default: this acnn). */
  program?: string[];
  /** Environment variables exported in the script. */
  env?: Record<string, string>;
}

/**
 * One sbatch job array for all jobs to run. Task i runs the run directory the script lists for
 * index i with `acnn run-dir`, exactly as a local worker would; a requeued task (preemption, node
 * failure: --requeue) runs it again, which resumes from its checkpoint.
 */
export class SlurmLauncher implements Launcher {
  constructor(private readonly o: SlurmLauncherOptions) {}

  async launch(jobs: RunJob[], flags: RunFlags, select: SelectOptions = {}): Promise<LaunchResult> {
    const { views, toRun } = await selectJobs(jobs, flags, select);
    if (!toRun.length) return { views, stopped: false };
    const logDir = path.join(this.o.dir, 'slurm');
    const array = arraySpec(toRun.map((v) => v.job.index), this.o.settings.parallel);
    const script = sbatchScript({
      jobName: this.o.jobName,
      array,
      settings: this.o.settings,
      logDir,
      cwd: this.o.cwd,
      tasks: toRun.map((v) => ({ index: v.job.index, dir: v.job.dir })),
      program: this.o.program ?? acnnCommand(),
      flags,
      env: this.o.env,
    });
    const scriptFile = path.join(this.o.dir, this.o.scriptName);
    const submitted: SubmittedArray = { array, script: scriptFile, logDir };
    await fs.mkdir(logDir, { recursive: true });
    const notSubmitted = this.o.submit === false ? '--no-submit' : !(await commandExists('sbatch')) ? 'sbatch is not installed here' : undefined;
    if (notSubmitted) {
      await writeFileAtomic(scriptFile, script);
      await fs.chmod(scriptFile, 0o755);
      submitted.notSubmitted = notSubmitted;
    } else {
      submitted.jobId = await submitArray(scriptFile, script);
      submitted.submittedAt = new Date().toISOString();
    }
    for (const v of toRun) v.status = 'queued';
    return { views, stopped: false, submitted };
  }
}

/** `--array` text: indices in compact ranges, with the `%P` throttle when P > 0. */
export function arraySpec(indices: number[], parallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (parallel && parallel > 0 ? `%${parallel}` : '');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface SbatchScriptOptions {
  jobName: string;
  array: string;
  settings: SlurmSettings;
  /** Folder of the per-task logs (%A_%a.out). */
  logDir: string;
  cwd: string;
  /** Array index -> the run directory that task runs. */
  tasks: { index: number; dir: string }[];
  /** The program before `run-dir <dir> <flags>`. */
  program: string[];
  flags: RunFlags;
  env?: Record<string, string>;
}

/**
 * The job array's script. Logs are appended so a requeue keeps the first attempt's log; SIGINT
 * two minutes before the time limit lets the runner checkpoint (the task execs the runner, so
 * the signal reaches it directly).
 */
export function sbatchScript(o: SbatchScriptOptions): string {
  const s = o.settings;
  // An #SBATCH line ends at a newline, and what follows would be run by bash: a value that holds
  // one (a hostile spec, a pasted option) is refused, not written.
  for (const [key, v] of [['partition', s.partition], ['account', s.account], ['time', s.time], ['mem', s.mem], ...(s.extraArgs ?? []).map((a) => ['extraArgs', a])] as [string, unknown][]) {
    if (typeof v === 'string' && /[\r\n\0]/.test(v)) throw new UserError(`sweep.slurm.${key}: ${JSON.stringify(v)} holds a line break; an sbatch option is one line`);
  }
  const lines = ['#!/bin/bash', `#SBATCH --job-name=${o.jobName}`, `#SBATCH --array=${o.array}`];
  if (s.partition) lines.push(`#SBATCH --partition=${s.partition}`);
  if (s.account) lines.push(`#SBATCH --account=${s.account}`);
  if (s.time) lines.push(`#SBATCH --time=${s.time}`);
  lines.push(`#SBATCH --ntasks=1`);
  lines.push(`#SBATCH --cpus-per-task=${s.cpus ?? 1}`);
  if (s.mem) lines.push(`#SBATCH --mem=${s.mem}`);
  if (s.gpus && s.gpus > 0) lines.push(`#SBATCH --gpus=${s.gpus}`);
  lines.push(`#SBATCH --output=${path.join(o.logDir, '%A_%a.out')}`);
  lines.push(`#SBATCH --open-mode=append`);
  lines.push(`#SBATCH --chdir=${o.cwd}`);
  lines.push(`#SBATCH --requeue`);
  lines.push(`#SBATCH --signal=INT@120`);
  for (const extra of s.extraArgs ?? []) lines.push(`#SBATCH ${extra}`);
  lines.push('', 'set -euo pipefail');
  for (const [k, v] of Object.entries(o.env ?? {})) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push('RUN_DIRS=()');
  for (const t of o.tasks) lines.push(`RUN_DIRS[${t.index}]=${shellQuote(t.dir)}`);
  lines.push(`dir="\${RUN_DIRS[$SLURM_ARRAY_TASK_ID]:-}"`);
  lines.push(`if [ -z "$dir" ]; then echo "acnn: array task $SLURM_ARRAY_TASK_ID has no run directory in this script" >&2; exit 2; fi`);
  lines.push(`echo "acnn task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname) (restart \${SLURM_RESTART_COUNT:-0}): $dir"`);
  const cmd = [...o.program.map(shellQuote), ...runDirArgs('"$dir"', o.flags, false).map((a) => (a === '"$dir"' ? a : shellQuote(a)))];
  lines.push(`exec ${cmd.join(' ')}`, '');
  return lines.join('\n');
}

export async function commandExists(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      await fs.access(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/** Writes the script and submits it; returns the job id (sbatch --parsable). */
export async function submitArray(scriptFile: string, script: string): Promise<string> {
  await writeFileAtomic(scriptFile, script);
  await fs.chmod(scriptFile, 0o755);
  // Slurm fails a task whose log folder is missing without writing anything anywhere.
  const output = /^#SBATCH --output=(.+)$/m.exec(script)?.[1];
  if (output) await fs.mkdir(path.dirname(output), { recursive: true });
  const out = await new Promise<string>((resolve, reject) => {
    execFile('sbatch', ['--parsable', scriptFile], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new UserError(`sbatch failed: ${(stderr || err.message).trim()}\n(the script is ${scriptFile})`));
      else resolve(stdout);
    });
  });
  // --parsable prints "jobid" or "jobid;cluster".
  const jobId = out.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new UserError(`sbatch answered '${out.trim()}', not a job id`);
  return jobId;
}

/** One array task as squeue reports it. */
export interface SlurmTaskState {
  jobId: string;
  taskId: number;
  /** PENDING, RUNNING, COMPLETING, REQUEUED, ... */
  state: string;
  reason?: string;
}

/** squeue's view of one job array, by task id; undefined when squeue is not installed or fails. */
export async function squeueTasks(jobId: string): Promise<Map<number, SlurmTaskState> | undefined> {
  const out = await new Promise<string | undefined>((resolve) => {
    execFile('squeue', ['-h', '-r', '-j', jobId, '-o', '%i|%T|%r'], { timeout: 15_000 }, (err, stdout) => {
      // squeue exits non-zero for a job it no longer knows: the queue has nothing of it.
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined);
      else if (err && /Invalid job id/i.test(String((err as { stderr?: string }).stderr ?? err.message))) resolve('');
      else if (err) resolve(undefined);
      else resolve(stdout);
    });
  });
  if (out === undefined) return undefined;
  return parseSqueue(out, jobId);
}

export function parseSqueue(text: string, jobId: string): Map<number, SlurmTaskState> {
  const tasks = new Map<number, SlurmTaskState>();
  for (const line of text.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (!id || !state) continue;
    const m = /^(\d+)_(\d+)$/.exec(id);
    if (!m || m[1] !== jobId) continue;
    tasks.set(Number(m[2]), { jobId, taskId: Number(m[2]), state, reason: reason && reason !== 'None' ? reason : undefined });
  }
  return tasks;
}
