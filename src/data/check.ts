import { CLASSES, type ClassName, type DataProblem, type DatasetOptions } from './types.js';
import { DataError } from './images.js';
import { getAdapter, prepareSplit } from './registry.js';
import type { LandmarkStats, NoFacePolicy } from './landmarks/index.js';

export interface SplitCounts {
  count: number;
  perClass: Record<ClassName, number>;
}

/** The JSON `acnn data check --json` prints, exactly. */
export interface CheckReport {
  datasets: Record<string, { splits: Record<string, SplitCounts>; problems: DataProblem[] }>;
}

/** Landmark coverage per split, for the human-readable report. */
export interface SplitCoverage extends LandmarkStats {
  total: number;
  withLandmarks: number;
}

export interface CheckResult {
  report: CheckReport;
  coverage: Record<string, Record<string, SplitCoverage>>;
}

export interface CheckOptions {
  /** Decode every image to find corrupt ones (default true; false only lists). */
  decode?: boolean;
  /** Run the landmark detector on uncovered samples (fills the cache; default false). */
  detect?: boolean;
  noFace?: NoFacePolicy;
  cacheDir?: string;
  /** Splits to check (default: all the format has). */
  splits?: string[];
  /** Images decoded at once (default 8). */
  concurrency?: number;
  onProgress?: (dataset: string, split: string, done: number, total: number) => void;
}

function emptyPerClass(): Record<ClassName, number> {
  return Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<ClassName, number>;
}

function problemKey(p: DataProblem): string {
  return `${p.kind}\u0000${p.file}\u0000${p.line ?? ''}\u0000${p.message}`;
}

/**
 * Lists, resolves landmarks for, and (by default) decodes every sample of a dataset's splits.
 * Counts are of usable samples; everything else is a problem with file (and line) named.
 */
export async function checkDataset(options: DatasetOptions, opts: CheckOptions = {}): Promise<{ splits: Record<string, SplitCounts>; problems: DataProblem[]; coverage: Record<string, SplitCoverage> }> {
  const adapter = getAdapter(options.format);
  const splits = opts.splits ?? adapter.splits(options);
  const out: Record<string, SplitCounts> = {};
  const coverage: Record<string, SplitCoverage> = {};
  const problems: DataProblem[] = [];
  const seen = new Set<string>();
  const add = (p: DataProblem) => {
    const k = problemKey(p);
    if (!seen.has(k)) {
      seen.add(k);
      problems.push(p);
    }
  };
  for (const split of splits) {
    const prepared = await prepareSplit(options, split, { detect: opts.detect ?? false, noFace: opts.noFace, cacheDir: opts.cacheDir });
    prepared.problems.forEach(add);
    const counts: SplitCounts = { count: 0, perClass: emptyPerClass() };
    let withLandmarks = 0;
    const good = new Array<boolean>(prepared.samples.length).fill(true);
    if (opts.decode !== false) {
      const conc = Math.max(1, opts.concurrency ?? 8);
      let next = 0;
      let done = 0;
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= prepared.samples.length) return;
          const ref = prepared.samples[i];
          try {
            // Pixels are what is checked here; missing points are reported as coverage.
            await adapter.load(ref.landmarks ? ref : { ...ref, landmarks: new Float32Array(136) }, options);
          } catch (err) {
            if (!(err instanceof DataError)) throw err;
            good[i] = false;
            add({ kind: err.kind, file: err.file, message: err.detail });
          }
          done++;
          opts.onProgress?.(options.name, split, done, prepared.samples.length);
        }
      };
      await Promise.all(Array.from({ length: conc }, worker));
    }
    prepared.samples.forEach((s, i) => {
      if (!good[i]) return;
      counts.count++;
      counts.perClass[CLASSES[s.label]]++;
      if (s.landmarks) withLandmarks++;
    });
    out[split] = counts;
    coverage[split] = { ...prepared.landmarks, total: counts.count, withLandmarks };
  }
  return { splits: out, problems, coverage };
}

/** `acnn data check` over several datasets. */
export async function checkDatasets(datasets: Record<string, DatasetOptions>, opts: CheckOptions = {}): Promise<CheckResult> {
  const report: CheckReport = { datasets: {} };
  const coverage: CheckResult['coverage'] = {};
  for (const [name, options] of Object.entries(datasets)) {
    const r = await checkDataset({ ...options, name }, opts);
    report.datasets[name] = { splits: r.splits, problems: r.problems };
    coverage[name] = r.coverage;
  }
  return { report, coverage };
}

/** The human-readable form of a check. */
export function formatCheck(result: CheckResult): string {
  const lines: string[] = [];
  for (const [name, ds] of Object.entries(result.report.datasets)) {
    lines.push(`dataset ${name}`);
    for (const [split, c] of Object.entries(ds.splits)) {
      const per = CLASSES.map((k) => `${k} ${c.perClass[k]}`).join(', ');
      lines.push(`  ${split}: ${c.count} samples (${per})`);
      const cov = result.coverage[name]?.[split];
      if (cov) {
        const parts = [`${cov.withLandmarks}/${cov.total} with 68 landmarks`];
        if (cov.fromDataset) parts.push(`${cov.fromDataset} from the dataset`);
        if (cov.fromCache) parts.push(`${cov.fromCache} cached detections`);
        if (cov.detected) parts.push(`${cov.detected} detected now`);
        if (cov.noFace) parts.push(`${cov.noFace} without a face (${cov.meanShape} given the mean shape)`);
        if (cov.missing) parts.push(`${cov.missing} not yet detected (run with --detect)`);
        lines.push(`    landmarks: ${parts.join(', ')}`);
      }
    }
    if (ds.problems.length === 0) lines.push('  no problems');
    else {
      lines.push(`  ${ds.problems.length} problem(s):`);
      for (const p of ds.problems) lines.push(`    ${p.kind}: ${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`);
    }
  }
  return lines.join('\n');
}
