import path from 'node:path';
import { RunDir, type RunMeta } from '../rundir/index.js';
import type { JobView, RunFlags, RunJob, SelectOptions } from './types.js';

/**
 * Jobs from planned runs: each run directory gets its resolved config.json now, so whatever
 * runs the job later reads the config the caller planned, not one re-derived from a spec.
 */
export async function prepareJobs(
  specResultsDir: string,
  runs: { index: number; id: string; config: unknown; values: Record<string, unknown> }[],
): Promise<RunJob[]> {
  const jobs: RunJob[] = [];
  for (const r of runs) {
    const dir = new RunDir(path.resolve(specResultsDir, r.id));
    await dir.writeConfig(r.config);
    jobs.push({ index: r.index, runId: r.id, dir: dir.dir, values: r.values });
  }
  return jobs;
}

/**
 * Each job's view from its run directory, and which of them to run: finished jobs are skipped
 * (unless --force), failed ones too unless retried; everything else (new, interrupted, killed)
 * runs and resumes where its checkpoint is.
 */
export async function selectJobs(jobs: RunJob[], flags: RunFlags, select: SelectOptions = {}): Promise<{ views: JobView[]; toRun: JobView[] }> {
  const views: JobView[] = [];
  const toRun: JobView[] = [];
  for (const job of jobs) {
    const view: JobView = { job, status: 'queued', step: 0, totalSteps: 0 };
    const meta = await new RunDir(job.dir).readMeta();
    if (meta) {
      view.step = meta.step ?? 0;
      view.totalSteps = meta.totalSteps ?? 0;
    }
    if (meta?.status === 'done' && !flags.force) {
      view.status = 'done';
      view.note = 'finished already';
    } else if (meta?.status === 'failed' && !select.retryFailed && !flags.force) {
      view.status = 'failed';
      view.note = `failed earlier${meta.error ? `: ${meta.error}` : ''} (--retry-failed retries it)`;
    } else {
      toRun.push(view);
    }
    views.push(view);
  }
  return { views, toRun };
}

/** A meta.json read before a launch, to tell afterwards whether the launched process wrote it. */
export function sameMeta(a: RunMeta | undefined, b: RunMeta | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
