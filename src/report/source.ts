/**
 * The report's one door to run directories: everything `acnn report` knows about a run comes
 * through here (config.json, meta.json, eval.json, metrics.jsonl, samples/). Nothing here
 * touches a model. The run-directory types are imported in this file only, so the report can
 * be re-pointed at another run-directory module by editing this file alone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RunDir, type PlanRun } from '../rundir/index.js';
import type { LoadedSpec } from '../spec/index.js';
import type { AttentionSample, EvalFile, RunMeta, TestResult, PatchDiagnostics, OcclusionDiagnostics, ScoreDiagnostics } from '../rundir/index.js';
import { reportRuns } from './build.js';

export type { AttentionSample, EvalFile, RunMeta, TestResult, PatchDiagnostics, OcclusionDiagnostics, ScoreDiagnostics };

/** One metrics.jsonl line: training rows carry loss/accuracy, eval rows `eval.<test>.accuracy`. */
export type MetricsRow = Record<string, number>;

/** Everything a report reads from one planned run's directory. */
export interface ReportRun {
  id: string;
  /** Position in the spec's plan (stable order for tables, legends and figures). */
  index: number;
  /** config.json, or the planned config when the run never started. */
  config: Record<string, unknown>;
  meta?: RunMeta;
  eval?: EvalFile;
  metrics: MetricsRow[];
  /** The run directory (sample images are read from it). */
  dir: string;
}

/** A planned run: its id and the config the spec expands it to. */
export interface PlannedRunRef {
  id: string;
  config: unknown;
}

/**
 * The runs a report covers, in plan order: those of the last `acnn run` (plan.json), or the
 * spec's expansion when there is none or `replan` (explicit --set flags) asks for it.
 */
export async function plannedRuns(loaded: LoadedSpec, resultsDir: string, replan = false): Promise<PlannedRunRef[]> {
  const { runs } = await reportRuns(loaded, resultsDir, { replan });
  return runs.map((r: PlanRun) => ({ id: r.id, config: r.config }));
}

export const isDone = (run: ReportRun): boolean => run.meta?.status === 'done' && run.eval !== undefined;

/** Reads every planned run's directory, in plan order; unstarted runs keep their planned config. */
export async function readReportRuns(resultsDir: string, specName: string, planned: PlannedRunRef[]): Promise<ReportRun[]> {
  const out: ReportRun[] = [];
  for (const [index, p] of planned.entries()) {
    const dir = RunDir.for(resultsDir, specName, p.id);
    const config = (await dir.readConfig<Record<string, unknown>>()) ?? (p.config as Record<string, unknown>);
    const meta = await dir.readMeta();
    const done = meta?.status === 'done';
    out.push({
      id: p.id,
      index,
      config,
      meta,
      eval: done ? await dir.readEval() : undefined,
      metrics: done ? await dir.readMetrics() : [],
      dir: dir.dir,
    });
  }
  return out;
}

/** samples/<test>.json of a finished run: the attention-map figure's input (absent for runs evaluated before it existed). */
export async function readSamples(run: ReportRun, test: string): Promise<AttentionSample[] | undefined> {
  const file = new RunDir(run.dir).samplesFile(test);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return (JSON.parse(text) as { samples: AttentionSample[] }).samples;
  } catch (err) {
    throw new Error(`${file}: unreadable (${(err as Error).message})`, { cause: err });
  }
}

/** The PNG bytes of one sample image. */
export function readSampleImage(run: ReportRun, sample: AttentionSample): Promise<Buffer> {
  return fs.readFile(path.join(new RunDir(run.dir).samplesDir, sample.image));
}

/** The class names in label order: eval.json's perClass keys are written in class order. */
export function classNames(test: TestResult): string[] {
  return Object.keys(test.perClass);
}
