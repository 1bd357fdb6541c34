export type { Trial, TrialStatus, SweepManifest, SweepObjective, SlurmSettings } from './types.js';
export { planSweep, trialsFrom, sweepSection, sweptKeys } from './plan.js';
export { runLocal, type TrialView, type SweepDisplay, type LocalRunOptions } from './local.js';
export { TableDisplay, LineDisplay, JsonDisplay } from './display.js';
export { sbatchScript, arraySpec, submitArray, runTask, writeManifest, manifestTrials } from './slurm.js';
export { sweepState, combineStatus, parseSqueue, squeueTasks, readManifest, manifestPath, type SweepState, type TrialState } from './state.js';
export { summarize, summaryCsv, writeSummaryCsv, bestSpecText, evalMetrics } from './summary.js';
export { acnnCommand, trialRunArgs } from './child.js';
