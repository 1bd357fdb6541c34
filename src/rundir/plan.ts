import path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';
import { readJsonFile, specResultsDir } from './run-dir.js';
import type { PlanFile } from './types.js';

export function planFile(resultsDir: string, specName: string): string {
  return path.join(specResultsDir(resultsDir, specName), 'plan.json');
}

export async function writePlan(resultsDir: string, plan: PlanFile): Promise<string> {
  const file = planFile(resultsDir, plan.spec);
  await writeJsonAtomic(file, plan);
  return file;
}

/** The spec's last plan, or undefined when `acnn run` never wrote one there. */
export async function readPlan(resultsDir: string, specName: string): Promise<PlanFile | undefined> {
  const plan = await readJsonFile<PlanFile>(planFile(resultsDir, specName));
  if (plan && (plan.version !== 1 || !Array.isArray(plan.runs))) {
    throw new Error(`${planFile(resultsDir, specName)}: not a plan file of this acnn version`);
  }
  return plan;
}
