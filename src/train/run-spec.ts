import path from 'node:path';
import { loadSpec, expandRuns, runLabel, type PlannedRun, type LoadedSpec } from '../spec/index.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { UserError } from '../util/errors.js';
import { RunDir, RunLockedError, specResultsDir, writePlan, type PlanFile } from '../rundir/index.js';
import { prepareJobs, type Launcher } from '../launch/index.js';
import { runOne, type RunOutcome } from './run-one.js';
import type { Reporter } from './progress.js';
import { DataCache, prepareRunData } from './prepare-data.js';
import { resolveRunInit } from './run-init.js';
import { checkpointExists } from './checkpoint-dir.js';
import { checkResumeData, type DataFingerprint } from './data-fingerprint.js';
import { stopOnSignals } from './stop-signal.js';

export interface RunSpecOptions {
  set?: string[];
  only?: string[];
  force?: boolean;
  backend?: BackendChoice;
  reporter: Reporter;
  resultsDir?: string;
  cacheDir?: string;
  /**
   * Runs the pending runs elsewhere (worker processes) instead of one after the other in this
   * process, when there is more than one.
   */
  launcher?: Launcher;
}

export type SpecOutcome = RunOutcome | 'locked';

export interface OutcomeCounts {
  done: number;
  skipped: number;
  failed: number;
  interrupted: number;
}

export interface RunSpecResult {
  loaded: LoadedSpec;
  resultsDir: string;
  /** What was written to results/<spec>/plan.json. */
  plan: PlanFile;
  outcomes: Record<string, SpecOutcome>;
  counts: OutcomeCounts;
  exitCode: number;
}

export const DEFAULT_RESULTS_DIR = 'results';
export const DEFAULT_CACHE_DIR = '.cache';

/**
 * `acnn run`: every run of a spec, in plan order. Finished runs are skipped, interrupted ones
 * resume; a failed run does not stop the others. Ctrl-C checkpoints the current run and stops.
 * Writes results/<spec>/plan.json; the table is the caller's to build from it (report/).
 */
export async function runSpec(file: string, opts: RunSpecOptions): Promise<RunSpecResult> {
  const loaded = await loadSpec(file, { set: opts.set });
  const resultsDir = opts.resultsDir ?? DEFAULT_RESULTS_DIR;
  const planned = expandRuns(loaded);
  const runs = selectRuns(loaded, planned, opts.only);
  const outcomes: Record<string, SpecOutcome> = {};
  const pending: PlannedRun[] = [];
  for (const run of runs) {
    const meta = await RunDir.for(resultsDir, loaded.name, run.id).readMeta();
    if (meta?.status === 'done' && !opts.force) outcomes[run.id] = 'skipped';
    else pending.push(run);
  }
  // Weights first: a missing ImageNet file or an unfinished run to fine-tune from is named
  // (with the command that fixes it) before any dataset is read.
  const inits = new Map<string, Awaited<ReturnType<typeof resolveRunInit>>>();
  for (const run of pending) inits.set(run.id, await resolveRunInit(run.config, resultsDir));
  // Every dataset of every run is listed before any training starts (and before anything is
  // written), so a missing dataset stops the spec at once rather than after hours of runs.
  const cache = new DataCache(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  const data = new Map<string, Awaited<ReturnType<typeof prepareRunData>>>();
  for (const run of pending) data.set(run.id, { ...(await prepareRunData(run.config, cache)), init: inits.get(run.id) });
  // A run that would resume on other data than it began with stops the spec now, not after
  // the runs before it have trained.
  if (!opts.force) for (const run of pending) await checkResumableData(run, data.get(run.id)!.fingerprint, { resultsDir, specName: loaded.name, specFile: file });
  const plan = planOf(loaded, planned, opts.set);
  await writePlan(resultsDir, plan);

  let stopped = false;
  if (opts.launcher && pending.length > 1) {
    Object.assign(outcomes, await launchRuns(opts.launcher, loaded, pending, resultsDir, opts));
  } else {
    stopped = await runHere(loaded, runs, pending, outcomes, { ...opts, resultsDir, data });
  }
  const counts = countOutcomes(outcomes);
  return { loaded, resultsDir, plan, outcomes, counts, exitCode: stopped || counts.interrupted ? 130 : counts.failed ? 1 : 0 };
}

function planOf(loaded: LoadedSpec, planned: PlannedRun[], sets: string[] | undefined): PlanFile {
  return {
    version: 1,
    spec: loaded.name,
    specFile: path.resolve(loaded.file),
    sets: sets ?? [],
    createdAt: new Date().toISOString(),
    runs: planned.map((r) => ({ id: r.id, index: r.index, label: runLabel(r), config: r.config })),
    ...(loaded.spec.table ? { table: loaded.spec.table } : {}),
  };
}

/** The pending runs in worker processes: each run directory gets its config.json, each worker the flags. */
async function launchRuns(launcher: Launcher, loaded: LoadedSpec, pending: PlannedRun[], resultsDir: string, opts: RunSpecOptions): Promise<Record<string, SpecOutcome>> {
  const jobs = await prepareJobs(
    specResultsDir(resultsDir, loaded.name),
    pending.map((r) => ({ index: r.index, id: r.id, config: r.config, values: { ...r.differs } })),
  );
  const flags = { force: opts.force, backend: opts.backend, cacheDir: path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR) };
  const { views } = await launcher.launch(jobs, flags, { retryFailed: true });
  return Object.fromEntries(views.map((v) => [v.job.runId, v.status === 'done' ? 'done' : v.status === 'interrupted' ? 'interrupted' : 'failed']));
}

/** The pending runs one after the other in this process; true when a signal stopped them. */
async function runHere(
  loaded: LoadedSpec,
  runs: PlannedRun[],
  pending: PlannedRun[],
  outcomes: Record<string, SpecOutcome>,
  opts: RunSpecOptions & { resultsDir: string; data: Map<string, Awaited<ReturnType<typeof prepareRunData>>> },
): Promise<boolean> {
  const { reporter } = opts;
  const backend = pending.length ? await initBackend(opts.backend ?? 'auto') : undefined;
  reporter.emit({ type: 'spec-start', spec: loaded.name, runs: runs.length, toRun: pending.length, backend: backend ? `${backend.name} (${backend.device})` : 'none needed' });
  for (const run of runs) if (outcomes[run.id] === 'skipped') reporter.emit({ type: 'run-skip', runId: run.id, reason: 'finished already' });
  const stop = stopOnSignals();
  try {
    for (const run of pending) {
      if (stop.requested()) break;
      try {
        outcomes[run.id] = await runOne(run, {
          resultsDir: opts.resultsDir,
          specName: loaded.name,
          backend: backend!,
          reporter,
          data: opts.data.get(run.id)!,
          index: runs.indexOf(run),
          total: runs.length,
          force: opts.force,
          specFile: loaded.file,
          shouldStop: stop.requested,
        });
      } catch (err) {
        if (err instanceof RunLockedError) {
          outcomes[run.id] = 'locked';
          reporter.emit({ type: 'run-skip', runId: run.id, reason: err.message });
          continue;
        }
        if (err instanceof UserError) throw err;
        outcomes[run.id] = 'failed';
        reporter.emit({ type: 'run-end', runId: run.id, status: 'failed', error: err instanceof Error ? err.message : String(err) });
      }
    }
  } finally {
    stop.dispose();
  }
  return stop.requested();
}

function selectRuns(loaded: LoadedSpec, runs: PlannedRun[], only: string[] | undefined): PlannedRun[] {
  if (!only?.length) return runs;
  const ids = new Set(runs.map((r) => r.id));
  const unknown = only.filter((id) => !ids.has(id));
  if (unknown.length) {
    throw new UserError(`${loaded.file}: no run with id ${unknown.join(', ')} (acnn plan ${loaded.file} lists the ids)`);
  }
  return runs.filter((r) => only.includes(r.id));
}

export function countOutcomes(outcomes: Record<string, SpecOutcome>): OutcomeCounts {
  const v = Object.values(outcomes);
  return {
    done: v.filter((o) => o === 'done').length,
    skipped: v.filter((o) => o === 'skipped' || o === 'locked').length,
    failed: v.filter((o) => o === 'failed').length,
    interrupted: v.filter((o) => o === 'interrupted').length,
  };
}

export type { Reporter };

/** The resume check of runOne (data-fingerprint.ts), for every pending run before any trains. */
async function checkResumableData(run: PlannedRun, now: DataFingerprint | undefined, ctx: { resultsDir: string; specName: string; specFile: string }): Promise<void> {
  const dir = RunDir.for(ctx.resultsDir, ctx.specName, run.id);
  const prior = await dir.readMeta();
  if (!now || !prior?.data || prior.status === 'done' || !(await checkpointExists(dir.checkpointDir))) return;
  checkResumeData({ runId: run.id, runDir: dir.dir, specFile: ctx.specFile, step: prior.checkpointStep ?? prior.step }, prior.data, now);
}
