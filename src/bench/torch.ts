/**
 * The PyTorch side of the bench: spawns bench/torch_acnn.py (the same networks in PyTorch) with
 * the system Python that has torch, and reads its JSON lines.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../util/package-info.js';
import type { Mode } from './model-bench.js';

export const TORCH_SCRIPT = path.join(PACKAGE_ROOT, 'bench', 'torch_acnn.py');
/** Debian's python3-torch installs for the system interpreter, not for a pyenv `python3` on PATH. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

export interface TorchCase {
  variant: string;
  inputSize: number;
  width: number;
  batch: number;
  mode: Mode;
  warmup: number;
  iters: number;
}

export interface TorchResult {
  variant: string;
  inputSize: number;
  width: number;
  batch: number;
  mode: Mode;
  threads: number;
  params: number;
  medianMs: number;
  timesMs: number[];
  /** Median CPU time of the Python process (all its threads) per unit. */
  cpuMedianMs: number;
  imagesPerSec: number;
}

export interface TorchInfo {
  torch: string;
  python: string;
  mkldnn: boolean;
  defaultThreads: number;
  parallel: string[];
}

export interface TorchRun {
  available: boolean;
  /** Why torch could not run (missing interpreter, missing torch, crash). */
  reason?: string;
  info?: TorchInfo;
  results: TorchResult[];
  errors: string[];
}

/** Runs the PyTorch twin on `cases`, once per thread count. Never throws: failures come back as `reason`/`errors`. */
export function runTorch(cases: TorchCase[], threads: number[], python = DEFAULT_PYTHON, timeoutMs = 30 * 60_000, countsOnly = false): Promise<TorchRun> {
  const run: TorchRun = { available: false, results: [], errors: [] };
  if (!existsSync(TORCH_SCRIPT)) return Promise.resolve({ ...run, reason: `${TORCH_SCRIPT} is missing` });
  const config = JSON.stringify({ threads, cases, countsOnly });
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(python, [TORCH_SCRIPT, config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(Math.max(...threads, 1)) } });
    } catch (err) {
      resolve({ ...run, reason: `cannot start ${python}: ${(err as Error).message}` });
      return;
    }
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ...run, reason: `cannot run ${python}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const line of out.split('\n')) {
        if (!line.trim().startsWith('{')) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.type === 'info') {
          run.available = true;
          const { type: _t, ...info } = msg;
          run.info = info as unknown as TorchInfo;
        } else if (msg.type === 'unavailable') {
          run.reason = `PyTorch is not available to ${python}: ${String(msg.reason)}`;
        } else if (msg.type === 'result') {
          const { type: _t, ...r } = msg;
          run.results.push(r as unknown as TorchResult);
        } else if (msg.type === 'error') {
          run.errors.push(`${String(msg.variant)} ${String(msg.inputSize)} ${String(msg.mode)}: ${String(msg.error)}`);
        }
      }
      if (code !== 0 || signal) {
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (!run.available) run.reason ??= `${python} ${path.basename(TORCH_SCRIPT)} failed (${why}): ${tail}`;
        else run.errors.push(`torch run ended early (${why}): ${tail}`);
      }
      resolve(run);
    });
  });
}
