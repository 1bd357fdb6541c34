/**
 * Launchers run prepared run directories somewhere else than in the calling process: worker
 * processes on this machine (local.ts) or a Slurm job array (slurm.ts). `acnn run --workers N`
 * and `acnn sweep` both go through this interface.
 *
 * A job is a run directory whose config.json holds the resolved run config, written before the
 * launch (prepareJobs). What runs it is `acnn run-dir <dir>` with the flags below, so the config
 * and the flags reach the run exactly as the caller resolved them, never re-derived from a spec.
 */

/** One run to launch. */
export interface RunJob {
  /** Position in the caller's plan: the display's number and the Slurm array index. */
  index: number;
  runId: string;
  /** Absolute run directory (results/<spec>/<run-id>); config.json is already there. */
  dir: string;
  /** What tells this run apart from the others, for displays: dotted key -> value. */
  values: Record<string, unknown>;
}

/** Flags every launched run gets, as `acnn run` and `acnn sweep` were given them. */
export interface RunFlags {
  /** Rerun finished runs from scratch. */
  force?: boolean;
  backend?: string;
  /** Absolute cache directory (synthetic images, landmarks). */
  cacheDir?: string;
}

export type JobStatus = 'pending' | 'queued' | 'running' | 'interrupted' | 'failed' | 'done';

/** What a display knows of one job, kept up to date by the launcher. */
export interface JobView {
  job: RunJob;
  status: JobStatus;
  step: number;
  totalSteps: number;
  etaSec?: number;
  /** The child's last logged training loss, accuracy and throughput. */
  loss?: number;
  accuracy?: number;
  imagesPerSec?: number;
  startedAt?: number;
  endedAt?: number;
  /** Why it was not run, or how it ended. */
  note?: string;
  pid?: number;
}

export type JobChange = 'skip' | 'start' | 'progress' | 'end';

export interface LaunchDisplay {
  start(views: JobView[]): void;
  change(view: JobView, what: JobChange): void;
  finish(views: JobView[]): void;
}

/** Which jobs to run again. */
export interface SelectOptions {
  /** Run failed jobs again (finished ones only with RunFlags.force). */
  retryFailed?: boolean;
}

export interface LaunchResult {
  /** Every job: done, failed, interrupted (local), queued (submitted to Slurm), or skipped with a note. */
  views: JobView[];
  /** Local: stopped early (--fail-fast, or SIGINT/SIGTERM). */
  stopped: boolean;
  /** Slurm: the submitted (or, without sbatch, only written) job array. */
  submitted?: SubmittedArray;
}

export interface SubmittedArray {
  /** Undefined when the script was written but not submitted. */
  jobId?: string;
  /** The --array text. */
  array: string;
  script: string;
  logDir: string;
  submittedAt?: string;
  /** Why it was not submitted (--no-submit, no sbatch here). */
  notSubmitted?: string;
}

export interface Launcher {
  launch(jobs: RunJob[], flags: RunFlags, select?: SelectOptions): Promise<LaunchResult>;
}
