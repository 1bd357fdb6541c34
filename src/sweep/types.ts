import type { JobStatus, SlurmSettings } from '../launch/index.js';

export type { SlurmSettings };

/**
 * A sweep trial is an ordinary run: its id is the run id, its directory the run directory.
 * What makes it a trial is only the bookkeeping kept here: which swept values it has, its
 * resolved config (what the launcher writes to its config.json), and which `--set` overrides
 * give that config from the spec file (for best.yaml).
 */
export interface Trial {
  /** Position in the sweep's expansion; stable for a given spec and --grid (the Slurm array index). */
  index: number;
  /** The run id (short hash of the resolved config). */
  id: string;
  /** The swept values, dotted key -> value (the summary's columns). */
  values: Record<string, unknown>;
  /** Dotted key -> value: the settings that make this trial's config from the spec file's. */
  overrides: Record<string, unknown>;
  /** The trial's resolved RunConfig. */
  config?: unknown;
}

export type TrialStatus = JobStatus;

export interface SweepObjective {
  metric: string;
  mode: 'max' | 'min';
}

/** results/<spec>/sweep/manifest.json: the sweep as last run or submitted, for status and --summary. */
export interface SweepManifest {
  version: 1;
  spec: string;
  specFile: string;
  /** The working directory results/ is relative to. */
  cwd: string;
  resultsDir: string;
  createdAt: string;
  /** The user's --set overrides of that invocation. */
  sets: string[];
  /** The --grid arguments of that invocation. */
  grid?: string[];
  backend?: string;
  objective?: SweepObjective;
  sweptKeys: string[];
  trials: { index: number; runId: string; values: Record<string, unknown> }[];
  slurm?: { jobId?: string; script: string; array: string; submittedAt?: string };
}
