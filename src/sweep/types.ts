/**
 * A sweep trial is an ordinary run: its id is the run id, its directory the run directory.
 * What makes it a trial is only the bookkeeping kept here: which swept values it has and which
 * `--set` overrides reproduce its config from the spec file.
 */
export interface Trial {
  /** Position in the sweep's expansion; stable for a given spec and --grid (the Slurm array index). */
  index: number;
  /** The run id (short hash of the resolved config). */
  id: string;
  /** The swept values, dotted key -> value (the summary's columns). */
  values: Record<string, unknown>;
  /** Dotted key -> value: `acnn run <spec> --set key=value ...` reproduces this trial's config. */
  overrides: Record<string, unknown>;
  /** The trial's resolved RunConfig (kept for best.yaml). */
  config?: unknown;
}

export type TrialStatus = 'pending' | 'queued' | 'running' | 'interrupted' | 'failed' | 'done';

export interface SweepObjective {
  metric: string;
  mode: 'max' | 'min';
}

export interface SlurmSettings {
  partition?: string;
  time?: string;
  gpus?: number;
  cpus?: number;
  mem?: string;
  /** At most this many array tasks at once (the `%P` of --array). */
  parallel?: number;
  account?: string;
  qos?: string;
  /** More sbatch arguments, verbatim (e.g. "--constraint=a100"). */
  extraArgs?: string[];
}

/** results/<spec>/sweep/manifest.json: everything an array task needs to find its trial. */
export interface SweepManifest {
  version: 1;
  spec: string;
  specFile: string;
  /** The working directory results/ is relative to (array tasks chdir here). */
  cwd: string;
  resultsDir: string;
  createdAt: string;
  /** The user's --set overrides, passed to every trial before the trial's own. */
  sets: string[];
  /** The --grid arguments of the invocation that wrote it. */
  grid?: string[];
  backend?: string;
  objective?: SweepObjective;
  sweptKeys: string[];
  trials: { index: number; runId: string; values: Record<string, unknown>; overrides: Record<string, unknown> }[];
  slurm?: { jobId?: string; script: string; array: string; submittedAt?: string };
}
