import path from 'node:path';
import type { RunConfig } from '../spec/index.js';
import { prepareSplit, type PreparedSplit } from '../data/registry.js';
import { createLoader, type LoaderOcclusion } from '../data/loader.js';
import { loadSample } from '../data/face-crop.js';
import type { Batch, DatasetAdapter, DatasetOptions, DecodedSample, SampleRef } from '../data/types.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { RunData, TestData, TrainData, TrainLoader } from './run-config.js';
import { fingerprintSamples, type DataFingerprint } from './data-fingerprint.js';

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

type FoldSpec = { k: number; groupBy: 'subject' | 'none'; seed: number; hold?: number };

/** The samples of one side of a fold split: every fold but `hold` (train) or only `hold` (test). */
function selectFolds(prepared: PreparedSplit, folds: FoldSpec, keep: 'held' | 'rest', where: string): PreparedSplit {
  if (folds.hold === undefined || folds.hold >= folds.k) throw new UserError(`${where}.folds.hold must be a fold 0 .. ${folds.k - 1}`);
  const of = assignFolds(prepared.samples, folds);
  const samples = prepared.samples.filter((s) => (of.get(s.id) === folds.hold) === (keep === 'held'));
  if (!samples.length) throw new UserError(`${where}: fold ${folds.hold} of ${folds.k} leaves no samples (${prepared.samples.length} in the split)`);
  return { ...prepared, samples };
}

/** Stops a run whose test set shares samples with its training data (a wrong fold or split). */
function checkNoLeak(trainKeys: Set<string>, tests: Record<string, { dataset: string; samples: SampleRef[] }>): void {
  for (const [name, t] of Object.entries(tests)) {
    const shared = t.samples.filter((s) => trainKeys.has(`${t.dataset}\u0000${s.id}`));
    if (shared.length) {
      throw new UserError(
        `test.${name} shares ${shared.length} of its ${t.samples.length} samples with the training data (e.g. ${shared[0].id}): ` +
          'test on another split, or hold the same fold out of both (folds: {k, groupBy, seed, hold} on train.data and the test set)',
      );
    }
  }
}

/** Lists everything a run reads; a missing dataset stops here, before any training. */
export async function prepareRunData(cfg: RunConfig, cache: DataCache): Promise<RunData> {
  const parts: { name: string; options: DatasetOptions; prepared: PreparedSplit; weight: number }[] = [];
  const trainKeys = new Set<string>();
  const fingerprint: DataFingerprint = {};
  for (const [i, part] of cfg.train.data.entries()) {
    const entry = datasetOf(cfg, part.dataset, 'train.data');
    let prepared = await cache.split(part.dataset, entry, part.split);
    if (part.folds) prepared = selectFolds(prepared, part.folds, 'rest', `train.data.${i}`);
    for (const s of prepared.samples) trainKeys.add(`${part.dataset}\u0000${s.id}`);
    fingerprint[`train.data.${i}`] = await fingerprintSamples(prepared.samples, part.dataset, part.split);
    parts.push({ name: part.dataset, options: cache.options(part.dataset, entry), prepared, weight: part.weight ?? 1 });
  }
  const tests: Record<string, TestData> = {};
  const listed: Record<string, { dataset: string; samples: SampleRef[] }> = {};
  for (const [testName, t] of Object.entries(cfg.test)) {
    const entry = datasetOf(cfg, t.dataset, `test.${testName}`);
    let prepared = await cache.split(t.dataset, entry, t.split);
    if (t.folds?.hold !== undefined) prepared = selectFolds(prepared, t.folds, 'held', `test.${testName}`);
    tests[testName] = testData(cfg, testName, t, cache.options(t.dataset, entry), prepared);
    listed[testName] = { dataset: t.dataset, samples: prepared.samples };
    fingerprint[`test.${testName}`] = await fingerprintSamples(prepared.samples, t.dataset, t.split);
  }
  checkNoLeak(trainKeys, listed);
  return { train: trainData(cfg, parts), tests, fingerprint };
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
  const perFold = perFoldOf(t);
  const folds = perFold ? assignFolds(prepared.samples, perFold) : undefined;
  return {
    name,
    samples: prepared.samples,
    folds: perFold?.k,
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

/**
 * The folds a test set reports per-fold accuracies over (foldMean / foldStd): a K-fold set
 * evaluated whole. A held-out fold (hold) is one plain set.
 */
export function perFoldOf(t: RunConfig['test'][string]): FoldSpec | undefined {
  return t.folds && t.folds.k > 1 && t.folds.hold === undefined ? t.folds : undefined;
}

/** K folds, subject-independent when asked: every subject's samples share one fold. */
export function assignFolds(samples: SampleRef[], folds: FoldSpec): Map<string, number> {
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
