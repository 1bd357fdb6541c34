import type { LoadedSpec, PlannedRun } from '../spec/index.js';
import type { SlurmSettings, SweepObjective, Trial } from './types.js';
import { flatten } from '../util/dotted.js';

/** The `sweep:` section as this module reads it; the schema gives defaults, flags override. */
export interface SweepSection {
  objective?: SweepObjective;
  executor?: 'local' | 'slurm';
  workers?: number;
  slurm?: SlurmSettings;
}

export function sweepSection(loaded: LoadedSpec): SweepSection {
  return ((loaded.spec as { sweep?: SweepSection }).sweep ?? {}) as SweepSection;
}

/** Keys whose value in `b` differs from `a` (added or changed), with b's value (util/dotted.ts flattens). */
export function flatDiff(a: unknown, b: unknown): Record<string, unknown> {
  const fa = flatten(a);
  const fb = flatten(b);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fb)) if (!(k in fa) || JSON.stringify(fa[k]) !== JSON.stringify(v)) out[k] = v;
  return out;
}

/**
 * Trials of a sweep: each with its resolved config (what runs), its swept values (the summary's
 * columns) and its overrides, its differences from the nearest run of the spec without its
 * sweep (`expandRuns`), which best.yaml writes into the spec file to reproduce the trial.
 */
export function trialsFrom(sweepRuns: PlannedRun[], baseRuns: PlannedRun[]): Trial[] {
  const bases = baseRuns.map((r) => flatten(r.config));
  const trials = sweepRuns.map((run, i): Trial => {
    let best: Record<string, unknown> | undefined;
    for (const base of bases) {
      const diff = flatDiff(base, run.config);
      if (!best || Object.keys(diff).length < Object.keys(best).length) best = diff;
    }
    return { index: i, id: run.id, values: {}, overrides: best ?? flatDiff({}, run.config), config: run.config };
  });
  // Swept columns: keys whose value is not the same in every trial (plus what the planner
  // reports as differing), so a constant override does not become a column of one value.
  const keys = new Set<string>();
  for (const run of sweepRuns) for (const k of Object.keys(run.differs ?? {})) keys.add(k);
  const flat = sweepRuns.map((r) => flatten(r.config));
  for (const k of new Set(flat.flatMap((f) => Object.keys(f)))) {
    const first = JSON.stringify(flat[0]?.[k]);
    if (flat.some((f) => JSON.stringify(f[k]) !== first)) keys.add(k);
  }
  for (const k of [...keys]) if (k.startsWith('tags.') && !flat.some((f) => k in f)) keys.delete(k);
  const ordered = [...keys].sort();
  for (const t of trials) {
    const f = flat[t.index];
    for (const k of ordered) t.values[k] = k in f ? f[k] : (sweepRuns[t.index].differs ?? {})[k];
  }
  return trials;
}

export async function planSweep(loaded: LoadedSpec, cli: { grid?: string[] }): Promise<Trial[]> {
  const { expandSweep, expandRuns } = await import('../spec/index.js');
  return trialsFrom(expandSweep(loaded, { grid: cli.grid }), expandRuns(loaded));
}

export function sweptKeys(trials: Trial[]): string[] {
  return [...new Set(trials.flatMap((t) => Object.keys(t.values)))].sort();
}
