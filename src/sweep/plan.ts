import type { LoadedSpec, PlannedRun } from '../spec/index.js';
import type { SlurmSettings, SweepObjective, Trial } from './types.js';
import { flatDiff, flatten } from './overrides.js';

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

/**
 * Trials of a sweep with the `--set` overrides that reproduce each from the spec file.
 *
 * A trial's overrides are its differences from the nearest run of the spec without its sweep
 * (`expandRuns`): `acnn run <spec> --set ... --only <id>` then expands to a run with exactly the
 * trial's id, for swept keys from the spec or from --grid alike, and also when the spec has its
 * own seeds/matrix axes (the nearest base run is the matching cell; --only picks it).
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
