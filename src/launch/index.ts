/**
 * Launchers: run prepared run directories in worker processes (LocalLauncher) or as a Slurm job
 * array (SlurmLauncher), for `acnn run --workers` and `acnn sweep` alike. docs/design.md, "Launchers".
 */
export type { RunJob, RunFlags, JobStatus, JobView, JobChange, LaunchDisplay, LaunchResult, Launcher, SelectOptions, SubmittedArray } from './types.js';
export { prepareJobs, selectJobs } from './jobs.js';
export { LocalLauncher, type LocalLauncherOptions } from './local.js';
export { SlurmLauncher, sbatchScript, arraySpec, submitArray, commandExists, squeueTasks, parseSqueue, type SlurmLauncherOptions, type SlurmSettings, type SlurmTaskState } from './slurm.js';
export { createDisplay, BarDisplay, LineDisplay, JsonDisplay } from './display.js';
export { acnnCommand, hasCli, runDirArgs } from './child.js';
export { autoWorkers } from './workers.js';
