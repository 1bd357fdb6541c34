import type { Spec } from './types.generated.js';
import type { ExpansionKey } from './keys.js';
export type * from './types.generated.js';

/** One run's resolved config: the spec minus the expansion keys, plus its tags. */
export type RunConfig = Omit<Spec, ExpansionKey> & { tags: Record<string, string> };

export interface LoadedSpec {
  /** Absolute path of the spec file. */
  file: string;
  /** The spec's name (results/<name>/): `name:` or the file name without extension. */
  name: string;
  /** Validated, defaults applied, extends/env/references/--set resolved. */
  spec: Spec;
}

export interface PlannedRun {
  /** Short hash of the canonical run config. */
  id: string;
  /** 0-based position in the expansion order. */
  index: number;
  config: RunConfig;
  /** The dotted keys whose values vary across the planned runs, with this run's values. */
  differs: Record<string, unknown>;
}

export interface LoadOptions {
  /** `a.b.c=value` overrides (values parsed as YAML: numbers, booleans, lists). */
  set?: string[];
  /** Environment for ${env:NAME}; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface SweepOptions {
  /** `key=v1,v2` (or `key=[v1, v2]`) grid axes added to (or replacing) sweep.grid. */
  grid?: string[];
  /** Overrides sweep.random.trials. */
  trials?: number;
  /** Overrides sweep.seeds. */
  seeds?: number[];
}
