import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { DataFingerprint } from './data-fingerprint.js';

/** The files of one run directory (docs/design.md, "Run directories"). */
export type RunStatus = 'pending' | 'running' | 'interrupted' | 'failed' | 'done';

export interface RunMeta {
  runId: string;
  spec: string;
  status: RunStatus;
  /** Training progress (updated at every logging step). */
  step: number;
  /** The step of the last checkpoint: where an interrupted run resumes. */
  checkpointStep?: number;
  totalSteps: number;
  backend?: { name: string; version?: string; device?: string };
  versions?: Record<string, string>;
  git?: string | null;
  host?: string;
  pid?: number;
  startedAt?: string;
  updatedAt?: string;
  endedAt?: string;
  error?: string;
  /** Seconds spent training, summed over resumed sessions. */
  trainSeconds?: number;
  resumedFrom?: number[];
  /** What the weights started from (model.pretrained / model.init), with the layers that did not fit. */
  init?: InitRecord;
  /** The data the run was trained on (train/data-fingerprint.ts): a resume on other data stops. */
  data?: DataFingerprint;
}

export interface InitRecord {
  pretrained?: {
    source: string;
    file: string;
    sha256: string;
    /** Layers imported whole. */
    loaded: string[];
    /** Layers with a counterpart in the file that did not fit, and why. */
    skipped: { layer: string; reason: string }[];
    /** Layers the file has no counterpart for (kept as initialised). */
    fresh: string[];
  };
  /** Another run's model every variable started from (fine-tuning). */
  checkpoint?: { source: string; dir: string };
}

export interface TestResult {
  accuracy: number;
  n: number;
  stderr: number;
  /** Mean of the per-class accuracies (classes present in the set). */
  meanClassAccuracy?: number;
  /** Mean softmax cross-entropy over the set. */
  loss?: number;
  perClass: Record<string, number>;
  confusion: number[][];
  /** K-fold sets evaluated whole: per-fold accuracies, mean and std (metrics foldMean, foldStd). */
  folds?: { k: number; accuracies: number[]; mean: number; std: number };
  patches?: PatchDiagnostics;
}

/** One score's view of occluded patches (train/patch-diagnostics.ts). */
export interface ScoreDiagnostics {
  /** Mean score on covered (>= threshold of the window) and on the other patches. */
  meanCovered: number;
  meanUncovered: number;
  /** AUC of "low score = covered": 0.5 = the score ignores occlusion. */
  auc: number;
  /** Spearman correlation of the score with the visible fraction of the window. */
  spearman: number;
}

export interface OcclusionDiagnostics {
  /** A patch is covered when the occluder covers at least this fraction of its window. */
  threshold: number;
  patches: number;
  covered: number;
  /** Mean fraction of a patch window the occluder covers. */
  meanCoverage: number;
  /** Gated variants: the gates' alpha, with a histogram of alpha (bins over [0, 1]) on covered and uncovered patches. */
  alpha?: ScoreDiagnostics & { histogram: { bins: number; covered: number[]; uncovered: number[] } };
  /** Every patch variant: the norm of the PG-unit's feature before its gate. */
  norm: ScoreDiagnostics;
}

/** Patch variants: what gates and features do (eval.json `tests.<name>.patches`). */
export interface PatchDiagnostics {
  /** Gated variants: mean alpha over every patch of every image. */
  meanAlpha?: number;
  /** gACNN: mean weight of the global branch. */
  meanAlphaGlobal?: number;
  /** Test sets with synthetic occlusion (the occluder mask is known). */
  occlusion?: OcclusionDiagnostics;
}

/** The first images of a test set with what the model did on them: the attention-map figure's input. */
export interface AttentionSample {
  id: string;
  label: number;
  pred: number;
  /** The image as the model saw it, `samples/<test>-<i>.png` in the run directory. */
  image: string;
  /** The 24 region centres (input pixels) and each patch window's side in input pixels. */
  points: number[];
  window: number;
  /** Gated variants: the 24 alphas; gACNN: the global weight. */
  alpha?: number[];
  alphaGlobal?: number;
  /** Fraction of each patch window the occluder covers (occluded sets). */
  coverage?: number[];
}

export interface EvalFile {
  tests: Record<string, TestResult>;
}

export class RunDir {
  constructor(readonly dir: string) {}

  static for(resultsDir: string, specName: string, runId: string): RunDir {
    return new RunDir(path.join(resultsDir, specName, runId));
  }

  get configFile() {
    return path.join(this.dir, 'config.json');
  }
  get metaFile() {
    return path.join(this.dir, 'meta.json');
  }
  get metricsFile() {
    return path.join(this.dir, 'metrics.jsonl');
  }
  get evalFile() {
    return path.join(this.dir, 'eval.json');
  }
  get checkpointDir() {
    return path.join(this.dir, 'checkpoint');
  }
  /** Attention samples: `samples/<test>.json` and the images beside it. */
  get samplesDir() {
    return path.join(this.dir, 'samples');
  }
  samplesFile(test: string) {
    return path.join(this.samplesDir, `${test}.json`);
  }
  confusionFile(test: string) {
    return path.join(this.dir, `confusion-${test}.csv`);
  }

  async readMeta(): Promise<RunMeta | undefined> {
    return readJson<RunMeta>(this.metaFile);
  }
  async writeMeta(meta: RunMeta): Promise<void> {
    await writeJsonAtomic(this.metaFile, { ...meta, updatedAt: new Date().toISOString() });
  }
  async readEval(): Promise<EvalFile | undefined> {
    return readJson<EvalFile>(this.evalFile);
  }
  async readConfig<T = unknown>(): Promise<T | undefined> {
    return readJson<T>(this.configFile);
  }

  /** Metric lines up to and including `upToStep`; later lines belong to work that was lost. */
  async readMetrics(upToStep = Infinity): Promise<Record<string, number>[]> {
    let text: string;
    try {
      text = await fs.readFile(this.metricsFile, 'utf8');
    } catch {
      return [];
    }
    const rows: Record<string, number>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line) as Record<string, number>;
        if (row.step <= upToStep) rows.push(row);
      } catch {
        // A line cut by a crash mid-append: dropped, the checkpoint is the truth.
      }
    }
    return rows;
  }

  /** On resume, forget metric lines written after the checkpoint so the log matches an uninterrupted run. */
  async truncateMetrics(upToStep: number): Promise<void> {
    const rows = await this.readMetrics(upToStep);
    await writeFileAtomic(this.metricsFile, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  async appendMetrics(row: Record<string, number>): Promise<void> {
    await fs.appendFile(this.metricsFile, JSON.stringify(row) + '\n');
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: unreadable (${(err as Error).message})`);
  }
}
