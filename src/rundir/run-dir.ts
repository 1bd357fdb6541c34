import { promises as fs } from 'node:fs';
import path from 'node:path';
import { appendFileSynced, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { canonicalJson } from '../spec/paths.js';
import type { EvalFile, RunMeta } from './types.js';

/** results/<spec>: a spec's run directories, its plan.json and its tables. */
export function specResultsDir(resultsDir: string, specName: string): string {
  return path.join(resultsDir, specName);
}

/**
 * One run directory, results/<spec>/<run-id>/ (docs/design.md, "Run directories"). Every file
 * is written atomically (temp file, fsync, rename), so a reader never sees half of one; the one
 * log, metrics.jsonl, is appended to with an fsync, and its readers skip a cut last line.
 */
export class RunDir {
  constructor(readonly dir: string) {}

  static for(resultsDir: string, specName: string, runId: string): RunDir {
    return new RunDir(path.join(specResultsDir(resultsDir, specName), runId));
  }

  /** The run id: the directory's name. */
  get runId() {
    return path.basename(this.dir);
  }
  /** The spec's name: the parent directory's name. */
  get specName() {
    return path.basename(path.dirname(this.dir));
  }
  /** The results directory the run lives in. */
  get resultsDir() {
    return path.dirname(path.dirname(this.dir));
  }

  get configFile() {
    return path.join(this.dir, 'config.json');
  }
  get metaFile() {
    return path.join(this.dir, 'meta.json');
  }
  get metricsFile() {
    return path.join(this.dir, 'metrics.jsonl');
  }
  get evalFile() {
    return path.join(this.dir, 'eval.json');
  }
  get checkpointDir() {
    return path.join(this.dir, 'checkpoint');
  }
  /** Attention samples: `samples/<test>.json` and the images beside it. */
  get samplesDir() {
    return path.join(this.dir, 'samples');
  }
  samplesFile(test: string) {
    return path.join(this.samplesDir, `${test}.json`);
  }
  confusionFile(test: string) {
    return path.join(this.dir, `confusion-${test}.csv`);
  }

  async readMeta(): Promise<RunMeta | undefined> {
    return readJsonFile<RunMeta>(this.metaFile);
  }
  async writeMeta(meta: RunMeta): Promise<void> {
    await writeJsonAtomic(this.metaFile, { ...meta, updatedAt: new Date().toISOString() });
  }
  async readEval(): Promise<EvalFile | undefined> {
    return readJsonFile<EvalFile>(this.evalFile);
  }
  async writeEval(evalFile: EvalFile): Promise<void> {
    await writeJsonAtomic(this.evalFile, evalFile);
  }
  async readConfig<T = unknown>(): Promise<T | undefined> {
    return readJsonFile<T>(this.configFile);
  }
  /**
   * Writes config.json, unless it already holds the same config (a finished run's files stay
   * untouched when it is planned or launched again).
   */
  async writeConfig(config: unknown): Promise<void> {
    const prior = await this.readConfig().catch(() => undefined);
    if (prior !== undefined && canonicalJson(prior) === canonicalJson(config)) return;
    await writeJsonAtomic(this.configFile, config);
  }

  /** Metric lines up to and including `upToStep`; later lines belong to work that was lost. */
  async readMetrics(upToStep = Infinity): Promise<Record<string, number>[]> {
    let text: string;
    try {
      text = await fs.readFile(this.metricsFile, 'utf8');
    } catch {
      return [];
    }
    const rows: Record<string, number>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line) as Record<string, number>;
        if (row.step <= upToStep) rows.push(row);
      } catch {
        // A line cut by a crash mid-append: dropped, the checkpoint is the truth.
      }
    }
    return rows;
  }

  /** On resume, forget metric lines written after the checkpoint so the log matches an uninterrupted run. */
  async truncateMetrics(upToStep: number): Promise<void> {
    const rows = await this.readMetrics(upToStep);
    await writeFileAtomic(this.metricsFile, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /**
   * One line per logging step, appended and fsynced (not rewritten: that would cost the whole
   * file at every step). A kill mid-append can cut only the last line: readMetrics skips it, and
   * a resume rewrites the file atomically up to the checkpoint (truncateMetrics) before it
   * appends again, so a cut line is never followed by another.
   */
  async appendMetrics(row: Record<string, number>): Promise<void> {
    await appendFileSynced(this.metricsFile, JSON.stringify(row) + '\n');
  }
}

/**
 * A JSON file of a results folder: undefined when it does not exist; an error naming the file
 * when it cannot be read or parsed (they are written atomically, so that means a hand edit or a
 * foreign file, which no reader should guess around).
 */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: unreadable (${(err as Error).message})`, { cause: err });
  }
}
