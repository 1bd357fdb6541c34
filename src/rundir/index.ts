/**
 * Run directories and a spec's results folder: layout, the types of their files, readers and
 * writers, liveness of the process that writes one, the run lock, metric lookup. Written by
 * train/, read by report/, sweep/ and launch/. docs/design.md, "Run directories".
 */
export type {
  RunStatus,
  RunMeta,
  InitRecord,
  TestResult,
  ScoreDiagnostics,
  OcclusionDiagnostics,
  PatchDiagnostics,
  AttentionSample,
  EvalFile,
  PlanFile,
  PlanRun,
  DataFingerprint,
  PartFingerprint,
} from './types.js';
export { RunDir, specResultsDir, readJsonFile } from './run-dir.js';
export { processLiveness, observedStatus } from './liveness.js';
export { METRICS, metricKey, metricValue, metricIsPercent, evalMetrics } from './metrics.js';
export { planFile, readPlan, writePlan } from './plan.js';
export { acquireRunLock, RunLockedError, type RunLock, type LockInfo } from './lock.js';
