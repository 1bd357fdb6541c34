import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { loadSpec, type LoadedSpec } from '../spec/index.js';
import { UserError } from '../util/errors.js';
import { valueText, type ProgressMode } from '../util/progress.js';
import { metricKey, specResultsDir } from '../rundir/index.js';
import { LocalLauncher, SlurmLauncher, createDisplay, prepareJobs, type JobView, type RunFlags, type SlurmSettings, type SubmittedArray } from '../launch/index.js';
import { planSweep, sweepSection, sweptKeys, type SweepSection } from './plan.js';
import { manifestPath, manifestTrials, readManifest, sweepDir, writeManifest } from './manifest.js';
import { bestSpecText, summarize, writeSummaryCsv, type Summary } from './summary.js';
import type { SweepManifest, Trial } from './types.js';

/** What `acnn sweep` was asked for, after flag parsing. */
export interface SweepRequest {
  spec: string;
  grid?: string[];
  set?: string[];
  resultsDir: string;
  cacheDir: string;
  backend?: string;
}

/** A planned sweep: the spec, its trials and where their files go. */
export interface SweepPlan {
  loaded: LoadedSpec;
  section: SweepSection;
  trials: Trial[];
  request: SweepRequest;
  specResults: string;
  sweepDir: string;
  manifestFile: string;
}

/**
 * Loads the spec and plans its trials. `fromManifest` (`--summary` without --set/--grid) takes
 * --set and --grid from the manifest of the sweep last run or submitted, so the trial ids match
 * its run directories.
 */
export async function planSweepRequest(request: SweepRequest, opts: { fromManifest?: boolean } = {}): Promise<SweepPlan> {
  let req = request;
  if (opts.fromManifest) {
    const name = (await loadSpec(req.spec)).name;
    const manifest = await readManifest(manifestPath(req.resultsDir, name));
    if (manifest && path.resolve(manifest.specFile) === path.resolve(req.spec)) {
      req = { ...req, set: manifest.sets.length ? manifest.sets : undefined, grid: manifest.grid?.length ? manifest.grid : undefined };
    }
  }
  const loaded = await loadSpec(req.spec, { set: req.set });
  const trials = await planSweep(loaded, { grid: req.grid });
  if (trials.length === 0) throw new UserError(`${loaded.file}: the sweep has no trials (add a sweep: section or --grid key=v1,v2)`);
  return {
    loaded,
    section: sweepSection(loaded),
    trials,
    request: req,
    specResults: specResultsDir(req.resultsDir, loaded.name),
    sweepDir: sweepDir(req.resultsDir, loaded.name),
    manifestFile: manifestPath(req.resultsDir, loaded.name),
  };
}

/** `--dry-run`: each trial with its run id, swept values, overrides and current status. */
export async function dryRunRows(plan: SweepPlan) {
  const summary = await summarize(plan.specResults, plan.trials);
  const status = new Map(summary.rows.map((r) => [r.index, r.status]));
  return plan.trials.map((t) => ({ index: t.index, runId: t.id, values: t.values, overrides: t.overrides, status: status.get(t.index) }));
}

export function formatDryRun(plan: SweepPlan, rows: Awaited<ReturnType<typeof dryRunRows>>): string {
  const keys = sweptKeys(plan.trials);
  const table = [['#', 'run', 'status', ...keys], ...rows.map((r) => [String(r.index), r.runId, r.status ?? '', ...keys.map((k) => valueText(r.values[k]))])];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const lines = table.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  lines.push(`${plan.trials.length} trials of ${plan.loaded.name}; run directories under ${relativePath(plan.specResults)}/`);
  return lines.join('\n');
}

export interface SweepOutputs {
  summary: Summary;
  csvFile: string;
  bestFile?: string;
}

/** summary.csv (trials sorted by the objective) and best.yaml (the best trial as a one-run spec). */
export async function writeSweepOutputs(plan: SweepPlan): Promise<SweepOutputs> {
  const { loaded, trials, sweepDir: dir } = plan;
  const summary = await summarize(plan.specResults, trials, plan.section.objective);
  const csvFile = path.join(dir, 'summary.csv');
  await writeSummaryCsv(csvFile, summary);
  if (!summary.best) return { summary, csvFile };
  const trial = trials.find((t) => t.index === summary.best!.index)!;
  const bestFile = path.join(dir, 'best.yaml');
  const obj = summary.objective!;
  const text = bestSpecText({
    sourceFile: path.resolve(loaded.file),
    sourceText: await fs.readFile(loaded.file, 'utf8'),
    outFile: bestFile,
    trial,
    sets: plan.request.set ?? [],
    header: `Best trial ${trial.index} (run ${trial.id}) of the ${loaded.name} sweep: ${obj.metric} = ${bestValue(summary)} (${obj.mode}).\n\`acnn run ${relativePath(bestFile)}\` reproduces it (same run id, so its results are reused).`,
  });
  await writeFileAtomic(bestFile, text);
  return { summary, csvFile, bestFile };
}

export function bestValue(summary: Summary): number | undefined {
  return summary.best && summary.objective ? summary.best.metrics[metricKey(summary.objective.metric)] : undefined;
}

export interface LocalSweepOptions {
  workers?: number;
  retryFailed?: boolean;
  failFast?: boolean;
  progress: ProgressMode;
}

/** The trials in local worker processes, then summary.csv and best.yaml. */
export async function runSweepLocally(plan: SweepPlan, o: LocalSweepOptions): Promise<{ views: JobView[]; stopped: boolean; outputs: SweepOutputs }> {
  await writeManifest(plan.manifestFile, manifest(plan));
  const launcher = new LocalLauncher({ workers: o.workers ?? plan.section.workers ?? 1, failFast: o.failFast, display: createDisplay(o.progress, 'sweep') });
  const { views, stopped } = await launcher.launch(await jobsOf(plan), flagsOf(plan), { retryFailed: o.retryFailed });
  return { views, stopped, outputs: await writeSweepOutputs(plan) };
}

export interface SlurmSweepOptions {
  settings: SlurmSettings;
  retryFailed?: boolean;
  /** false: write the script only (--no-submit). */
  submit?: boolean;
}

/**
 * The trials as one Slurm job array. The manifest is written before submitting (and again with
 * the job id), so `acnn status` can follow the job. `submitted` is undefined when nothing was
 * left to run.
 */
export async function submitSweep(plan: SweepPlan, o: SlurmSweepOptions): Promise<{ views: JobView[]; submitted?: SubmittedArray }> {
  const base = manifest(plan);
  await writeManifest(plan.manifestFile, base);
  const settings = { ...(plan.section.slurm ?? {}), ...o.settings };
  const launcher = new SlurmLauncher({ jobName: `acnn-${plan.loaded.name}`, settings, dir: plan.sweepDir, scriptName: 'sweep.sbatch', cwd: process.cwd(), submit: o.submit });
  const { views, submitted } = await launcher.launch(await jobsOf(plan), flagsOf(plan), { retryFailed: o.retryFailed });
  if (submitted) await writeManifest(plan.manifestFile, { ...base, slurm: { jobId: submitted.jobId, script: submitted.script, array: submitted.array, submittedAt: submitted.submittedAt } });
  return { views, submitted };
}

function manifest(plan: SweepPlan): SweepManifest {
  return {
    version: 1,
    spec: plan.loaded.name,
    specFile: path.resolve(plan.loaded.file),
    cwd: process.cwd(),
    resultsDir: path.resolve(plan.request.resultsDir),
    createdAt: new Date().toISOString(),
    sets: plan.request.set ?? [],
    grid: plan.request.grid ?? [],
    backend: plan.request.backend,
    objective: plan.section.objective,
    sweptKeys: sweptKeys(plan.trials),
    trials: manifestTrials(plan.trials),
  };
}

/** Every trial's run directory with its resolved config.json, ready to launch. */
function jobsOf(plan: SweepPlan) {
  return prepareJobs(plan.specResults, plan.trials.map((t) => ({ index: t.index, id: t.id, config: t.config, values: t.values })));
}

function flagsOf(plan: SweepPlan): RunFlags {
  return { backend: plan.request.backend, cacheDir: path.resolve(plan.request.cacheDir) };
}

/** A path as the user would type it from here. */
export function relativePath(p: string): string {
  return path.relative(process.cwd(), p) || '.';
}
