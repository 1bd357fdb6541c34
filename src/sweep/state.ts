import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SweepManifest, TrialStatus } from './types.js';

/** The part of a run's meta.json (written by the runner, src/train/run-dir.ts) a sweep reads. */
export interface RunMetaLite {
  status?: 'pending' | 'running' | 'interrupted' | 'failed' | 'done';
  step?: number;
  totalSteps?: number;
  host?: string;
  pid?: number;
  error?: string;
  startedAt?: string;
  updatedAt?: string;
  endedAt?: string;
}

export async function readRunMeta(runDir: string): Promise<RunMetaLite | undefined> {
  return readJson<RunMetaLite>(path.join(runDir, 'meta.json'));
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // Files are written atomically, so this is a hand-edited or foreign file: treat as absent.
    return undefined;
  }
}

export function manifestPath(resultsDir: string, specName: string): string {
  return path.join(resultsDir, specName, 'sweep', 'manifest.json');
}

export async function readManifest(file: string): Promise<SweepManifest | undefined> {
  return readJson<SweepManifest>(file);
}

/** One array task as squeue reports it. */
export interface SlurmTaskState {
  jobId: string;
  taskId: number;
  /** PENDING, RUNNING, COMPLETING, REQUEUED, ... */
  state: string;
  reason?: string;
}

export interface TrialState {
  index: number;
  runId: string;
  values: Record<string, unknown>;
  status: TrialStatus;
  step: number;
  totalSteps: number;
  error?: string;
  slurm?: SlurmTaskState;
}

export interface SweepState {
  spec: string;
  manifest: string;
  jobId?: string;
  /** Whether squeue was asked (it exists and the manifest names a job). */
  squeue: boolean;
  trials: TrialState[];
  counts: Record<TrialStatus, number>;
}

/**
 * A sweep's state rebuilt from its manifest, its trials' run directories and (when the
 * manifest names a Slurm job and squeue exists) the queue, so `acnn status` needs nothing
 * that had to stay running. Returns undefined when the spec has no sweep manifest.
 */
export async function sweepState(resultsDir: string, specName: string, opts: { squeue?: boolean } = {}): Promise<SweepState | undefined> {
  const file = manifestPath(resultsDir, specName);
  const manifest = await readManifest(file);
  if (!manifest) return undefined;
  const jobId = manifest.slurm?.jobId;
  let queue: Map<number, SlurmTaskState> | undefined;
  if (jobId && opts.squeue !== false) queue = await squeueTasks(jobId);
  const trials: TrialState[] = [];
  for (const t of manifest.trials) {
    const meta = await readRunMeta(path.join(resultsDir, specName, t.runId));
    const slurm = queue?.get(t.index);
    trials.push({
      index: t.index,
      runId: t.runId,
      values: t.values,
      status: combineStatus(meta, slurm, Boolean(queue)),
      step: meta?.step ?? 0,
      totalSteps: meta?.totalSteps ?? 0,
      error: meta?.status === 'failed' ? meta.error : !meta && queue && !slurm ? `array task ${t.index} ended without starting the run (see ${slurmLogHint(manifest, t.index)})` : undefined,
      slurm,
    });
  }
  const counts: Record<TrialStatus, number> = { pending: 0, queued: 0, running: 0, interrupted: 0, failed: 0, done: 0 };
  for (const t of trials) counts[t.status]++;
  return { spec: specName, manifest: file, jobId, squeue: Boolean(queue), trials, counts };
}

/**
 * meta.json says what the run last wrote; the queue says whether anything is still coming.
 * A meta "running" with neither a live process on this host nor a live Slurm task is a run
 * that died without writing (SIGKILL, node failure): interrupted, and resumable.
 */
export function combineStatus(meta: RunMetaLite | undefined, slurm: SlurmTaskState | undefined, queueKnown: boolean): TrialStatus {
  if (meta?.status === 'done' || meta?.status === 'failed') return meta.status;
  if (slurm) {
    if (slurm.state === 'RUNNING' || slurm.state === 'COMPLETING') return 'running';
    return 'queued';
  }
  if (meta?.status === 'running') {
    if (queueKnown) return 'interrupted';
    return processAlive(meta) ? 'running' : 'interrupted';
  }
  if (meta?.status === 'interrupted') return 'interrupted';
  // Submitted, gone from the queue, and never wrote a run directory: the task died before
  // the runner started (its Slurm log says why).
  if (queueKnown && !meta) return 'failed';
  return 'pending';
}

function slurmLogHint(manifest: SweepManifest, index: number): string {
  return path.join(path.dirname(manifest.slurm?.script ?? ''), 'slurm', `${manifest.slurm?.jobId}_${index}.out`);
}

function processAlive(meta: RunMetaLite): boolean {
  // Another host's process cannot be checked from here: trust its meta.
  if (!meta.pid || (meta.host && meta.host !== os.hostname())) return true;
  try {
    process.kill(meta.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
