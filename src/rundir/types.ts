/**
 * The files of a run directory and of a spec's results folder, typed once for everyone who
 * writes or reads them (train writes; report, sweep and the launchers read). docs/design.md,
 * "Run directories", describes them.
 */
import type { RunConfig, TableConfig } from '../spec/index.js';

export type RunStatus = 'pending' | 'running' | 'interrupted' | 'failed' | 'done';

/** meta.json */
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
  /** How the model ran on this backend (crop, PG-units) and where each choice came from. */
  execution?: { crop: string; pgUnits: string; backend: string; source: { crop: string; pgUnits: string }; readsAreFree: boolean };
  /** The data the run was trained on (train/data-fingerprint.ts): a resume on other data stops. */
  data?: DataFingerprint;
}

/** What a run reads, keyed by where it is used: `train.data.0`, `test.clean`. */
export type DataFingerprint = Record<string, PartFingerprint>;

/** One training part or test set of a run. */
export interface PartFingerprint {
  dataset: string;
  split: string;
  samples: number;
  /** sha256 of the sorted "id label" lines. */
  ids: string;
  /** sha256 of each file's size (in-memory pixels: their bytes), in id order. */
  files: string;
  /** sha256 of the 68 points of each sample, in id order. */
  landmarks: string;
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

/** One test set's entry of eval.json. */
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

/** The first images of a test set with what the model did on them: the attention-map figure's input (samples/<test>.json). */
export interface AttentionSample {
  id: string;
  label: number;
  pred: number;
  /** The image as the model saw it, `samples/<test>-<i>.png` in the run directory. */
  image: string;
  /** The 24 region centres (input pixels) and each patch window's side in input pixels. */
  points: number[];
  window: number;
  /** Each window's top-left corner in input pixels (x, y per region): the exact square the model crops. */
  corners?: number[];
  /** Gated variants: the 24 alphas; gACNN: the global weight. */
  alpha?: number[];
  alphaGlobal?: number;
  /** Fraction of each patch window the occluder covers (occluded sets). */
  coverage?: number[];
}

/** eval.json */
export interface EvalFile {
  tests: Record<string, TestResult>;
}

/** One planned run as plan.json records it. */
export interface PlanRun {
  id: string;
  /** 0-based position in the spec's expansion. */
  index: number;
  /** The settings that tell it apart from the spec's other runs, and its tags (spec/label.ts). */
  label: string;
  /** The resolved run config: what its config.json holds once the run starts. */
  config: RunConfig;
}

/**
 * results/<spec>/plan.json, written by `acnn run`: the runs of the spec as that invocation
 * expanded it, so tables, status and reports need neither the spec's --set flags nor a
 * re-expansion that could differ.
 */
export interface PlanFile {
  version: 1;
  /** The spec's name (the results folder). */
  spec: string;
  /** Absolute path of the spec file. */
  specFile: string;
  /** The --set overrides the runs were planned with. */
  sets: string[];
  createdAt: string;
  /** Every planned run in expansion order (not only those an --only picked). */
  runs: PlanRun[];
  /** The spec's resolved table section, when it has one. */
  table?: TableConfig;
}
