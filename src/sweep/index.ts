/**
 * Hyperparameter sweeps: trials planned from the spec's sweep: section (and --grid), launched
 * locally or as a Slurm array (launch/), followed from their run directories, summarised with
 * the best trial as a runnable spec. docs/design.md, "Sweeps".
 */
export type { Trial, TrialStatus, SweepManifest, SweepObjective, SlurmSettings } from './types.js';
export { planSweep, trialsFrom, flatDiff, sweepSection, sweptKeys, type SweepSection } from './plan.js';
export { sweepDir, manifestPath, readManifest, writeManifest, manifestTrials } from './manifest.js';
export { sweepState, combineStatus, type SweepState, type TrialState } from './state.js';
export { summarize, summaryCsv, writeSummaryCsv, bestSpecText, type Summary, type SummaryRow } from './summary.js';
export {
  planSweepRequest,
  dryRunRows,
  formatDryRun,
  writeSweepOutputs,
  bestValue,
  runSweepLocally,
  submitSweep,
  relativePath,
  type SweepRequest,
  type SweepPlan,
  type SweepOutputs,
} from './run.js';
