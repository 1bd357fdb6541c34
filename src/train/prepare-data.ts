import path from 'node:path';
import type { RunConfig } from '../spec/index.js';
import { prepareSplit, type PreparedSplit } from '../data/registry.js';
import { createLoader, type LoaderOcclusion } from '../data/loader.js';
import { loadSample } from '../data/face-crop.js';
import type { Batch, DatasetAdapter, DatasetOptions, DecodedSample, SampleRef } from '../data/types.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { RunData, TestData, TrainData, TrainLoader } from './run-config.js';

type DatasetEntry = RunConfig['datasets'][string];

/**
 * Listings (and landmark resolution) are shared by every run of a spec: the six variants of a
 * table read the same splits, so each split is listed once per process.
 */
export class DataCache {
  private readonly splits = new Map<string, Promise<PreparedSplit>>();
  constructor(readonly cacheDir: string) {}

  options(name: string, entry: DatasetEntry): DatasetOptions {
    return { ...entry, name, cacheDir: path.join(this.cacheDir, entry.format === 'synthetic' ? 'synthetic' : 'landmarks') } as DatasetOptions;
  }

  split(name: string, entry: DatasetEntry, split: string): Promise<PreparedSplit> {
    const key = JSON.stringify([name, entry, split]);
    let p = this.splits.get(key);
    if (!p) {
      p = prepareSplit(this.options(name, entry), split, { noFace: entry.landmarks?.noFace, detect: entry.landmarks?.source !== 'file' });
      this.splits.set(key, p);
    }
    return p;
  }
}

function datasetOf(cfg: RunConfig, name: string, where: string): DatasetEntry {
  const entry = cfg.datasets[name];
  if (!entry) throw new UserError(`${where} names dataset '${name}', which the spec's datasets: section does not define (known: ${Object.keys(cfg.datasets).join(', ')})`);
  return entry;
}

/** Lists everything a run reads; a missing dataset stops here, before any training. */
export async function prepareRunData(cfg: RunConfig, cache: DataCache): Promise<RunData> {
  const parts: { name: string; options: DatasetOptions; prepared: PreparedSplit; weight: number }[] = [];
  for (const part of cfg.train.data) {
    const entry = datasetOf(cfg, part.dataset, 'train.data');
    parts.push({ name: part.dataset, options: cache.options(part.dataset, entry), prepared: await cache.split(part.dataset, entry, part.split), weight: part.weight ?? 1 });
  }
  const tests: Record<string, TestData> = {};
  for (const [testName, t] of Object.entries(cfg.test)) {
    const entry = datasetOf(cfg, t.dataset, `test.${testName}`);
    const prepared = await cache.split(t.dataset, entry, t.split);
    tests[testName] = testData(cfg, testName, t, cache.options(t.dataset, entry), prepared);
  }
  return { train: trainData(cfg, parts), tests };
}

function trainData(cfg: RunConfig, parts: { name: string; options: DatasetOptions; prepared: PreparedSplit; weight: number }[]): TrainData {
  const t = cfg.train;
  const { adapter, options, samples } = parts.length === 1 && parts[0].weight === 1 ? { adapter: parts[0].prepared.adapter, options: parts[0].options, samples: parts[0].prepared.samples } : mixParts(parts);
  const occlusion: LoaderOcclusion | undefined =
    t.occlusion.ratio > 0
      ? { ratio: t.occlusion.ratio, protocol: t.occlusion.protocol, occluders: procedural(t.occlusion.occluders), sizeRange: t.occlusion.size }
      : undefined;
  return {
    samples,
    createLoader(position?: unknown): TrainLoader {
      const loader = createLoader({
        adapter,
        options,
        samples,
        inputSize: cfg.model.inputSize,
        train: true,
        batchSize: t.batchSize,
        seed: deriveSeed(t.seed, 'data'),
        occlusion,
        startPosition: position as { epoch: number; index: number } | undefined,
        maxBadFraction: options.maxBadFraction as number | undefined,
      });
      const it = loader[Symbol.asyncIterator]();
      return {
        async next(): Promise<Batch> {
          const r = await it.next();
          if (r.done) throw new Error('the training loader ended early');
          return r.value;
        },
        position: () => loader.position(),
        close: async () => loader.close(),
      };
    },
  };
}

/** `procedural` is the schema's word for "no folder": the occlusion module draws its own. */
function procedural(occluders: string | undefined): string | undefined {
  return !occluders || occluders === 'procedural' ? undefined : occluders;
}

/**
 * Several training parts (Table V merges RAF-DB and AffectNet): one adapter that routes each
 * sample to its own dataset, and weights applied by repeating a part's samples.
 */
function mixParts(parts: { name: string; options: DatasetOptions; prepared: PreparedSplit; weight: number }[]) {
  const route = new Map<string, { adapter: DatasetAdapter; options: DatasetOptions; ref: SampleRef }>();
  const samples: SampleRef[] = [];
  for (const part of parts) {
    const copies = Math.max(0, part.weight);
    const whole = Math.floor(copies);
    const rng = new Rng(deriveSeed(0, 'weight', part.name));
    const extra = part.prepared.samples.filter(() => rng.next() < copies - whole);
    for (const [copy, list] of [...Array.from({ length: whole }, () => part.prepared.samples), extra].entries()) {
      for (const ref of list) {
        const id = `${part.name}/${copy}/${ref.id}`;
        route.set(id, { adapter: part.prepared.adapter, options: part.options, ref });
        samples.push({ ...ref, id });
      }
    }
  }
  const adapter: DatasetAdapter = {
    format: 'mix',
    splits: () => [],
    list: async () => ({ samples, problems: [] }),
    load: async (ref): Promise<DecodedSample> => {
      const r = route.get(ref.id)!;
      const s = await loadSample(r.adapter, r.ref, r.options);
      return { ...s, id: ref.id };
    },
  };
  const options: DatasetOptions = { name: parts.map((p) => p.name).join('+'), format: 'mix', maxBadFraction: Math.max(...parts.map((p) => (p.options.maxBadFraction as number) ?? 0.05)) };
  return { adapter, options, samples };
}

function testData(cfg: RunConfig, name: string, t: RunConfig['test'][string], options: DatasetOptions, prepared: PreparedSplit): TestData {
  const occ = t.occlusion && t.occlusion.protocol !== 'none' ? t.occlusion : undefined;
  const occlusion: LoaderOcclusion | undefined = occ
    ? { ratio: 1, protocol: occ.protocol, seed: occ.seed, occluders: procedural(occ.occluders), sizeRange: occ.size }
    : undefined;
  const folds = t.folds && t.folds.k > 1 ? assignFolds(prepared.samples, t.folds) : undefined;
  return {
    name,
    samples: prepared.samples,
    folds: t.folds?.k,
    foldOf: folds ? (id) => folds.get(id) ?? 0 : undefined,
    batches(batchSize: number) {
      return createLoader({
        adapter: prepared.adapter,
        options,
        samples: prepared.samples,
        inputSize: cfg.model.inputSize,
        train: false,
        batchSize,
        seed: deriveSeed(occ?.seed ?? 0, 'test', name),
        occlusion,
        maxBadFraction: options.maxBadFraction as number | undefined,
      });
    },
  };
}

/** K folds, subject-independent when asked: every subject's samples share one fold. */
function assignFolds(samples: SampleRef[], folds: { k: number; groupBy: 'subject' | 'none'; seed: number }): Map<string, number> {
  const groups = new Map<string, string[]>();
  for (const s of samples) {
    const g = folds.groupBy === 'subject' ? (s.subject ?? s.id) : s.id;
    groups.set(g, [...(groups.get(g) ?? []), s.id]);
  }
  const keys = new Rng(deriveSeed(folds.seed, 'folds')).shuffle([...groups.keys()].sort());
  const out = new Map<string, number>();
  keys.forEach((g, i) => groups.get(g)!.forEach((id) => out.set(id, i % folds.k)));
  return out;
}
