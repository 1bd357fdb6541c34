import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { PlannedRun } from '../spec/index.js';
import type { RunExecutor } from '../train/run-spec.js';
import { acnnCommand } from './child.js';
import { runLocal } from './local.js';
import { JsonDisplay, LineDisplay, TableDisplay } from './display.js';

export interface WorkerOptions {
  workers: number;
  specFile: string;
  sets?: string[];
  backend?: string;
  resultsDir: string;
  cacheDir: string;
  json?: boolean;
}

/**
 * `acnn run --workers N`: the spec's pending runs as child processes, N at a time (the local
 * executor sweeps use). Each run is still an ordinary run: same id, same directory, same resume.
 */
export function workerExecutor(o: WorkerOptions): RunExecutor {
  return async (runs: PlannedRun[], { loaded, resultsDir }) => {
    const [file, ...pre] = acnnCommand();
    const display = o.json ? new JsonDisplay() : process.stderr.isTTY ? new TableDisplay(process.stderr, 'runs') : new LineDisplay(undefined, 'runs');
    const trials = runs.map((r) => ({ index: r.index, id: r.id, values: { ...r.differs }, overrides: {} }));
    const { views } = await runLocal({
      trials,
      specResultsDir: path.join(resultsDir, loaded.name),
      workers: o.workers,
      retryFailed: true,
      display,
      command: (t) => {
        const args = [...pre, 'run', path.resolve(o.specFile), '--only', t.id, '--workers', '1', '--json', '--results', path.resolve(o.resultsDir), '--cache', path.resolve(o.cacheDir)];
        for (const s of o.sets ?? []) args.push('--set', s);
        if (o.backend) args.push('--backend', o.backend);
        return { file, args };
      },
    });
    return Object.fromEntries(views.map((v) => [v.trial.id, v.status === 'done' ? 'done' : v.status === 'interrupted' ? 'interrupted' : 'failed']));
  };
}

/**
 * `--workers auto`: the WebAssembly and plain-JS backends use one core each in Node, so several
 * runs at once use the machine; a native TensorFlow backend already uses every core (and a GPU
 * is shared badly), so it gets one.
 */
export function autoWorkers(backend: string, pending: number): number {
  const single = backend === 'wasm' || backend === 'cpu' || (backend === 'auto' && !nativeBackendInstalled());
  if (!single) return 1;
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, pending, 8));
}

function nativeBackendInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(`${pkg}/package.json`);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}
