import { UserError } from '../util/errors.js';
import type { DataProblem, DatasetAdapter, DatasetOptions, SampleRef } from './types.js';
import { rafdbAdapter } from './adapters/rafdb.js';
import { affectnetAdapter } from './adapters/affectnet.js';
import { ckplusAdapter } from './adapters/ckplus.js';
import { sfewAdapter } from './adapters/sfew.js';
import { ouluAdapter } from './adapters/oulu.js';
import { fedroAdapter } from './adapters/fedro.js';
import { fer2013Adapter } from './adapters/fer2013.js';
import { manifestAdapter } from './adapters/manifest.js';
import { syntheticAdapter } from './synthetic/index.js';
import { resolveLandmarks, type LandmarkStats, type ResolveOptions } from './landmarks/index.js';

const ADAPTERS: Record<string, DatasetAdapter> = {
  rafdb: rafdbAdapter,
  affectnet: affectnetAdapter,
  ckplus: ckplusAdapter,
  sfew: sfewAdapter,
  oulu: ouluAdapter,
  fedro: fedroAdapter,
  fer2013: fer2013Adapter,
  manifest: manifestAdapter,
  synthetic: syntheticAdapter,
};

/** Every format name getAdapter knows. */
export const FORMATS: readonly string[] = Object.keys(ADAPTERS);

/** The adapter for a spec's `format:`; an unknown format is the user's to fix. */
export function getAdapter(format: string): DatasetAdapter {
  const a = ADAPTERS[format];
  if (!a) throw new UserError(`unknown dataset format '${format}' (known: ${FORMATS.join(', ')})`);
  return a;
}

export interface PreparedSplit {
  adapter: DatasetAdapter;
  samples: SampleRef[];
  problems: DataProblem[];
  landmarks: LandmarkStats;
}

/**
 * What the runner, `data check` and `data preview` call: list a split, then give every
 * sample its 68 points (dataset, cache, or detector). Listing problems and no-face
 * problems come back together.
 */
export async function prepareSplit(options: DatasetOptions, split: string, landmarkOpts: ResolveOptions = {}): Promise<PreparedSplit> {
  const adapter = getAdapter(options.format);
  const listing = await adapter.list(options, split);
  const resolved = await resolveLandmarks(adapter, options, listing.samples, landmarkOpts);
  return { adapter, samples: resolved.samples, problems: [...listing.problems, ...resolved.problems], landmarks: resolved.stats };
}
