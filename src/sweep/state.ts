import path from 'node:path';
import { RunDir, observedStatus, type RunMeta } from '../rundir/index.js';
import { squeueTasks, type SlurmTaskState } from '../launch/index.js';
import { manifestPath, readManifest } from './manifest.js';
import type { SweepManifest, TrialStatus } from './types.js';

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
    const meta = await RunDir.for(resultsDir, specName, t.runId).readMeta();
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
export function combineStatus(meta: Pick<RunMeta, 'status' | 'pid' | 'host'> | undefined, slurm: SlurmTaskState | undefined, queueKnown: boolean): TrialStatus {
  if (meta?.status === 'done' || meta?.status === 'failed') return meta.status;
  if (slurm) {
    if (slurm.state === 'RUNNING' || slurm.state === 'COMPLETING') return 'running';
    return 'queued';
  }
  if (meta?.status === 'running') return queueKnown ? 'interrupted' : observedStatus(meta);
  if (meta?.status === 'interrupted') return 'interrupted';
  // Submitted, gone from the queue, and never wrote a run directory: the task died before
  // the runner started (its Slurm log says why).
  if (queueKnown && !meta) return 'failed';
  return 'pending';
}

function slurmLogHint(manifest: SweepManifest, index: number): string {
  return path.join(path.dirname(manifest.slurm?.script ?? ''), 'slurm', `${manifest.slurm?.jobId}_${index}.out`);
}

