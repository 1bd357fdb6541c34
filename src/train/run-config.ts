import type { RunConfig } from '../spec/index.js';
import type { ModelOptions } from '../model/types.js';
import type { Batch, SampleRef } from '../data/types.js';
import type { RunInit } from './run-init.js';
import type { DataFingerprint } from './data-fingerprint.js';

/** Training data of one run: its samples and a loader that can start at a saved position. */
export interface TrainData {
  samples: SampleRef[];
  createLoader(position?: unknown): TrainLoader;
}

export interface TrainLoader {
  next(): Promise<Batch>;
  /** Where the next batch starts: saved in checkpoints so a resumed run sees the same data. */
  position(): unknown;
  close(): Promise<void>;
}

export interface TestData {
  name: string;
  samples: SampleRef[];
  /** K-fold protocols: the number of folds and each sample's fold. */
  folds?: number;
  foldOf?: (id: string) => number;
  batches(batchSize: number): AsyncIterable<Batch>;
}

export interface RunData {
  train: TrainData;
  tests: Record<string, TestData>;
  /** Weights the run starts from (ImageNet, another run's checkpoint); none = seeded initialisation. */
  init?: RunInit;
  /** What the run reads (recorded in meta.json; a resume on other data stops). */
  fingerprint?: DataFingerprint;
}

/** The spec's model section as the model factory's plain options. */
export function modelOptionsOf(cfg: RunConfig): ModelOptions {
  const m = cfg.model;
  return {
    backbone: m.backbone,
    variant: m.variant,
    inputSize: m.inputSize,
    width: m.width,
    numClasses: m.numClasses,
    dropout: m.dropout,
    dlp: m.dlp,
    ...(m.patchDropout !== undefined ? { patchDropout: m.patchDropout } : {}),
    ...(m.classifierInit !== undefined ? { classifierInit: m.classifierInit } : {}),
    ...(m.classifierBatchNorm !== undefined ? { classifierBatchNorm: m.classifierBatchNorm } : {}),
    crop: m.execution?.crop,
    pgUnits: m.execution?.pgUnits,
  };
}

/** Updates (optimizer steps) of a run: `iterations`, or `epochs` over the training set. */
export function totalSteps(cfg: RunConfig, trainSamples: number): number {
  const t = cfg.train;
  if (t.iterations) return t.iterations;
  const perUpdate = t.batchSize * (t.accumulate ?? 1);
  return Math.max(1, Math.ceil(((t.epochs ?? 1) * trainSamples) / perUpdate));
}
