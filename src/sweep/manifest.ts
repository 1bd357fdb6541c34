import path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';
import { readJsonFile, specResultsDir } from '../rundir/index.js';
import type { SweepManifest, Trial } from './types.js';

/** results/<spec>/sweep: the manifest, summary.csv, best.yaml and a Slurm array's script and logs. */
export function sweepDir(resultsDir: string, specName: string): string {
  return path.join(specResultsDir(resultsDir, specName), 'sweep');
}

export function manifestPath(resultsDir: string, specName: string): string {
  return path.join(sweepDir(resultsDir, specName), 'manifest.json');
}

export async function readManifest(file: string): Promise<SweepManifest | undefined> {
  return readJsonFile<SweepManifest>(file);
}

export async function writeManifest(file: string, manifest: SweepManifest): Promise<void> {
  await writeJsonAtomic(file, manifest);
}

export function manifestTrials(trials: Trial[]): SweepManifest['trials'] {
  return trials.map((t) => ({ index: t.index, runId: t.id, values: t.values }));
}
