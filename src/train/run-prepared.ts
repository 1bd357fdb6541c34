import path from 'node:path';
import { runId, type RunConfig } from '../spec/index.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { UserError } from '../util/errors.js';
import { RunDir, RunLockedError, readPlan } from '../rundir/index.js';
import { runOne, type RunOutcome } from './run-one.js';
import type { Reporter } from './progress.js';
import { DataCache, prepareRunData } from './prepare-data.js';
import { resolveRunInit } from './run-init.js';
import { DEFAULT_CACHE_DIR } from './run-spec.js';
import { stopOnSignals } from './stop-signal.js';

export interface RunPreparedOptions {
  force?: boolean;
  backend?: BackendChoice;
  reporter: Reporter;
  cacheDir?: string;
}

/**
 * `acnn run-dir <dir>`: the run a launcher prepared, from its config.json alone (what a worker
 * process or a Slurm array task runs). The directory's name is the run id and its parent's the
 * spec's; the config must hash to that id, so a hand-edited config cannot pass for the run.
 */
export async function runPrepared(dirPath: string, opts: RunPreparedOptions): Promise<{ outcome: RunOutcome | 'locked'; exitCode: number }> {
  const dir = new RunDir(path.resolve(dirPath));
  const config = await dir.readConfig<RunConfig>();
  if (!config) throw new UserError(`${dir.configFile}: not found (acnn run-dir runs a run directory that acnn run or acnn sweep prepared)`);
  const id = runId(config);
  if (id !== dir.runId) throw new UserError(`${dir.configFile}: this config's run id is ${id}, not ${dir.runId} (the directory's name); was it edited?`);
  // As acnn run does: the weights first, then every dataset, before any training.
  const init = await resolveRunInit(config, dir.resultsDir);
  const data = { ...(await prepareRunData(config, new DataCache(opts.cacheDir ?? DEFAULT_CACHE_DIR))), init };
  const backend = await initBackend(opts.backend ?? 'auto');
  const stop = stopOnSignals();
  try {
    const outcome = await runOne(
      { id, index: 0, config, differs: {} },
      { resultsDir: dir.resultsDir, specName: dir.specName, specFile: await specFileOf(dir), backend, reporter: opts.reporter, data, index: 0, total: 1, force: opts.force, shouldStop: stop.requested },
    );
    return { outcome, exitCode: outcome === 'interrupted' || stop.requested() ? 130 : outcome === 'failed' ? 1 : 0 };
  } catch (err) {
    if (err instanceof RunLockedError) {
      opts.reporter.emit({ type: 'run-skip', runId: id, reason: err.message });
      return { outcome: 'locked', exitCode: 0 };
    }
    if (err instanceof UserError) throw err;
    opts.reporter.emit({ type: 'run-end', runId: id, status: 'failed', error: err instanceof Error ? err.message : String(err) });
    return { outcome: 'failed', exitCode: 1 };
  } finally {
    stop.dispose();
  }
}

/** The spec file the run was planned from (plan.json), for the commands messages suggest. */
async function specFileOf(dir: RunDir): Promise<string | undefined> {
  try {
    return (await readPlan(dir.resultsDir, dir.specName))?.specFile;
  } catch {
    return undefined;
  }
}
