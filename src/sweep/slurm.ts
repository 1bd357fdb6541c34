import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import type { SlurmSettings, SweepManifest, Trial } from './types.js';
import { readManifest } from './state.js';

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
  /** What each task runs; "$SLURM_ARRAY_TASK_ID" in it is left for the shell to expand. */
  command: string[];
  env?: Record<string, string>;
}

/**
 * One job array for the whole sweep. Each task is `acnn sweep <spec> --task $SLURM_ARRAY_TASK_ID`,
 * which looks its trial up in the manifest, so the script never has to change when trials are
 * retried, and a requeued task (preemption, node failure: --requeue) simply runs its trial
 * again, which resumes from the run's checkpoint. Logs are appended so a requeue keeps the first
 * attempt's log.
 */
export function sbatchScript(o: SbatchScriptOptions): string {
  const s = o.settings;
  const lines = ['#!/bin/bash', `#SBATCH --job-name=${o.jobName}`, `#SBATCH --array=${o.array}`];
  if (s.partition) lines.push(`#SBATCH --partition=${s.partition}`);
  if (s.account) lines.push(`#SBATCH --account=${s.account}`);
  if (s.qos) lines.push(`#SBATCH --qos=${s.qos}`);
  if (s.time) lines.push(`#SBATCH --time=${s.time}`);
  lines.push(`#SBATCH --ntasks=1`);
  lines.push(`#SBATCH --cpus-per-task=${s.cpus ?? 1}`);
  if (s.mem) lines.push(`#SBATCH --mem=${s.mem}`);
  if (s.gpus && s.gpus > 0) lines.push(`#SBATCH --gpus=${s.gpus}`);
  lines.push(`#SBATCH --output=${path.join(o.logDir, '%A_%a.out')}`);
  lines.push(`#SBATCH --open-mode=append`);
  lines.push(`#SBATCH --chdir=${o.cwd}`);
  lines.push(`#SBATCH --requeue`);
  // SIGINT before the time limit: the runner checkpoints and exits, and the trial resumes later.
  lines.push(`#SBATCH --signal=INT@120`);
  for (const extra of s.extraArgs ?? []) lines.push(`#SBATCH ${extra}`);
  lines.push('', 'set -euo pipefail');
  for (const [k, v] of Object.entries(o.env ?? {})) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(`echo "acnn sweep task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname) (restart \${SLURM_RESTART_COUNT:-0})"`);
  const cmd = o.command.map((a) => (a === '$SLURM_ARRAY_TASK_ID' ? '"$SLURM_ARRAY_TASK_ID"' : shellQuote(a))).join(' ');
  lines.push(`exec ${cmd}`, '');
  return lines.join('\n');
}

export async function writeManifest(file: string, manifest: SweepManifest): Promise<void> {
  await writeJsonAtomic(file, manifest);
}

export function manifestTrials(trials: Trial[]): SweepManifest['trials'] {
  return trials.map((t) => ({ index: t.index, runId: t.id, values: t.values, overrides: t.overrides }));
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

/**
 * An array task: finds trial `index` in the manifest and runs it as an ordinary run, with
 * stdio passed through to the Slurm log. Signals are forwarded so a preempted or timed-out task
 * lets the runner checkpoint. Resolves to the child's exit code.
 */
export async function runTask(manifestFile: string, index: number, command: (args: string[]) => { file: string; args: string[] }, runArgs: (t: SweepManifest['trials'][number], m: SweepManifest) => string[]): Promise<number> {
  const manifest = await readManifest(manifestFile);
  if (!manifest) throw new UserError(`no sweep manifest at ${manifestFile} (acnn sweep --executor slurm writes it)`);
  const trial = manifest.trials.find((t) => t.index === index);
  if (!trial) throw new UserError(`trial ${index} is not in ${manifestFile} (it has ${manifest.trials.length} trials)`);
  const { file, args } = command(runArgs(trial, manifest));
  const child = spawn(file, args, { stdio: 'inherit', cwd: manifest.cwd });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGUSR1'] as NodeJS.Signals[]).map((sig) => [sig, forward(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
    });
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGUSR1: 10 } as Record<string, number>)[sig];
}
