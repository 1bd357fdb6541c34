import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Trial } from '../src/sweep/index.js';
import { prepareJobs, type JobChange, type JobView, type LaunchDisplay, type RunJob } from '../src/launch/index.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FAKE_RUNNER = path.join(REPO, 'test', 'slurm', 'fake-acnn-run.mjs');
/** The fake runner as a launcher's program: `node fake-acnn-run.mjs run-dir <dir> ...`. */
export const FAKE_PROGRAM = [process.execPath, FAKE_RUNNER];

/** Trials of a grid, as the planner would give them (ids: a hash of the values). */
export function gridTrials(axes: Record<string, unknown[]>): Trial[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [k, vs] of Object.entries(axes)) combos = combos.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  return combos.map((values, index) => ({
    index,
    id: createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, 10),
    values,
    overrides: values,
    config: { name: 'ignored', train: { lr: 0.1 }, ...nest(values) },
  }));
}

/** The trials as launcher jobs: run directories under `specResults` with their config.json. */
export function jobsOf(specResults: string, trials: Trial[]): Promise<RunJob[]> {
  return prepareJobs(specResults, trials.map((t) => ({ index: t.index, id: t.id, config: t.config, values: t.values })));
}

function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]] = v;
  }
  return out;
}

/** A display that records what happened and lets a test act on progress. */
export class RecordingDisplay implements LaunchDisplay {
  events: { what: JobChange; index: number; status: string; step: number }[] = [];
  constructor(private readonly onChange?: (v: JobView, what: JobChange) => void) {}
  start() {}
  change(v: JobView, what: JobChange) {
    this.events.push({ what, index: v.job.index, status: v.status, step: v.step });
    this.onChange?.(v, what);
  }
  finish() {}
}

export function invocations(specResults: string, id: string): string[] {
  const f = path.join(specResults, id, 'invocations.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
}

/** A tiny spec: synthetic data, tiny model, a few iterations, a 2x2 grid x 2 seeds. */
export function tinySpec(name: string, extra = ''): string {
  return `name: ${name}
datasets:
  synthetic: {format: synthetic, train: 32, test: 16, seed: 1, imageSize: 32}
model:
  backbone: vgg16
  variant: base
  inputSize: 32
  width: 0.125
train:
  data: [{dataset: synthetic, split: train}]
  batchSize: 4
  iterations: 5
  seed: 1
test:
  clean: {dataset: synthetic, split: test}
sweep:
  grid:
    train.lr: [0.01, 0.001]
    model.dropout: [0.5, 0.3]
  seeds: [1, 2]
  objective: {metric: clean.accuracy, mode: max}
${extra}`;
}
