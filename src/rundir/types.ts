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
}

/** One test set's entry of eval.json. */
export interface TestResult {
  accuracy: number;
  n: number;
  stderr: number;
  perClass: Record<string, number>;
  confusion: number[][];
  folds?: { k: number; accuracies: number[]; mean: number; std: number };
  gates?: GateDiagnostics;
}

export interface GateDiagnostics {
  /** Mean alpha over all patches and samples. */
  meanAlpha: number;
  meanAlphaGlobal?: number;
  /** Only on occluded sets: patches whose centre the occluder covers vs the rest. */
  covered?: { n: number; meanAlpha: number };
  uncovered?: { n: number; meanAlpha: number };
  /** AUC of (1 - alpha) separating covered from uncovered patches: 0.5 = gates ignore occlusion. */
  auc?: number;
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
