import path from 'node:path';
import { loadSpec, expandRuns, type PlannedRun, type LoadedSpec } from '../spec/index.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { UserError } from '../util/errors.js';
import { RunLockedError } from './lock.js';
import { runOne, type RunOutcome } from './run-one.js';
import { createReporter, type ProgressMode, type Reporter } from './progress.js';
import { DataCache, prepareRunData } from './prepare-data.js';
import { RunDir } from './run-dir.js';
import { resolveRunInit } from './run-init.js';
import { checkpointExists } from './checkpoint-dir.js';
import { checkResumeData, type DataFingerprint } from './data-fingerprint.js';
import { buildTables } from '../report/build.js';

export interface RunSpecOptions {
  set?: string[];
  only?: string[];
  force?: boolean;
  backend?: BackendChoice;
  progress: ProgressMode;
  resultsDir?: string;
  cacheDir?: string;
  /**
   * Runs the pending runs elsewhere (worker processes, a cluster) instead of one after the other
   * in this process: a plug-in so the runner does not depend on any executor.
   */
  executor?: RunExecutor;
}

export type RunExecutor = (runs: PlannedRun[], ctx: { loaded: LoadedSpec; resultsDir: string }) => Promise<Record<string, RunOutcome | 'locked'>>;

export interface RunSpecResult {
  outcomes: Record<string, RunOutcome | 'locked'>;
  tableFile?: string;
  exitCode: number;
}

export const DEFAULT_RESULTS_DIR = 'results';

/**
 * `acnn run`: every run of a spec, in plan order. Finished runs are skipped, interrupted ones
 * resume; a failed run does not stop the others. Ctrl-C checkpoints the current run and stops.
 */
export async function runSpec(file: string, opts: RunSpecOptions): Promise<RunSpecResult> {
  const loaded = await loadSpec(file, { set: opts.set });
  const resultsDir = opts.resultsDir ?? DEFAULT_RESULTS_DIR;
  const runs = selectRuns(loaded, opts.only);
  const reporter = createReporter(opts.progress);

  // Every dataset of every run is listed before any training starts, so a missing dataset
  // stops the spec at once rather than after hours of the runs before it.
  const cache = new DataCache(opts.cacheDir ?? path.join('.cache'));
  const pending: PlannedRun[] = [];
  const outcomes: RunSpecResult['outcomes'] = {};
  for (const run of runs) {
    const meta = await RunDir.for(resultsDir, loaded.name, run.id).readMeta();
    if (meta?.status === 'done' && !opts.force) outcomes[run.id] = 'skipped';
    else pending.push(run);
  }
  // Weights first: a missing ImageNet file or an unfinished run to fine-tune from is named
  // (with the command that fixes it) before any dataset is read.
  const inits = new Map<string, Awaited<ReturnType<typeof resolveRunInit>>>();
  for (const run of pending) inits.set(run.id, await resolveRunInit(run.config, resultsDir));
  const data = new Map<string, Awaited<ReturnType<typeof prepareRunData>>>();
  for (const run of pending) data.set(run.id, { ...(await prepareRunData(run.config, cache)), init: inits.get(run.id) });
  // A run that would resume on other data than it began with stops the spec now, not after
  // the runs before it have trained.
  if (!opts.force) for (const run of pending) await checkResumableData(run, data.get(run.id)!.fingerprint, { resultsDir, specName: loaded.name, specFile: file });

  if (opts.executor && pending.length > 1) {
    reporter.close();
    Object.assign(outcomes, await opts.executor(pending, { loaded, resultsDir }));
    const tableFile = await buildTables(loaded, resultsDir);
    const counts = countOutcomes(outcomes);
    if (opts.progress !== 'quiet' && opts.progress !== 'json' && tableFile) console.error(`table: ${tableFile}`);
    return { outcomes, tableFile, exitCode: counts.interrupted ? 130 : counts.failed ? 1 : 0 };
  }

  const backend = pending.length ? await initBackend(opts.backend ?? 'auto') : undefined;
  reporter.emit({ type: 'spec-start', spec: loaded.name, runs: runs.length, toRun: pending.length, backend: backend ? `${backend.name} (${backend.device})` : 'none needed' });
  for (const run of runs) if (outcomes[run.id] === 'skipped') reporter.emit({ type: 'run-skip', runId: run.id, reason: 'finished already' });

  let stopRequested = false;
  let firstSignalAt = 0;
  const onSigint = () => {
    // A second Ctrl-C quits at once, but not one that arrives with the first: a terminal's
    // Ctrl-C reaches a worker directly and again through its parent executor.
    if (stopRequested && Date.now() - firstSignalAt > 2000) process.exit(130);
    if (stopRequested) return;
    firstSignalAt = Date.now();
    stopRequested = true;
    process.stderr.write('\nacnn: stopping after this step (checkpointing); Ctrl-C again to quit at once\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    for (const [i, run] of pending.entries()) {
      if (stopRequested) break;
      try {
        outcomes[run.id] = await runOne(run, {
          resultsDir,
          specName: loaded.name,
          backend: backend!,
          reporter,
          data: data.get(run.id)!,
          index: runs.indexOf(run),
          total: runs.length,
          force: opts.force,
          specFile: file,
          shouldStop: () => stopRequested,
        });
        void i;
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
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }

  const tableFile = await buildTables(loaded, resultsDir);
  const counts = countOutcomes(outcomes);
  reporter.emit({ type: 'spec-end', ...counts, table: tableFile });
  reporter.close();
  const exitCode = stopRequested || counts.interrupted ? 130 : counts.failed ? 1 : 0;
  return { outcomes, tableFile, exitCode };
}

function selectRuns(loaded: LoadedSpec, only: string[] | undefined): PlannedRun[] {
  const runs = expandRuns(loaded);
  if (!only?.length) return runs;
  const ids = new Set(runs.map((r) => r.id));
  const unknown = only.filter((id) => !ids.has(id));
  if (unknown.length) {
    throw new UserError(`${loaded.file}: no run with id ${unknown.join(', ')} (acnn plan ${loaded.file} lists the ids)`);
  }
  return runs.filter((r) => only.includes(r.id));
}

function countOutcomes(outcomes: RunSpecResult['outcomes']) {
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
