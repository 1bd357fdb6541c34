import { UserError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { DataError } from './images.js';
import { applyTransform, planTransform } from './transforms.js';
import { occlude, occlusionRng, prepareOcclusion, type OcclusionSpec } from './occlusion/index.js';
import { cropSettings, faceSquare, loadSample } from './face-crop.js';
import type { Batch, DataProblem, DatasetAdapter, DatasetOptions, OccludedImage, SampleRef } from './types.js';

/** Where a loader stands: the next sample to read is `order(epoch)[index]`. */
export interface LoaderPosition {
  epoch: number;
  index: number;
}

/** Occlusion as the loader applies it; fields other than ratio/seed go to the occlusion module as they are. */
export interface LoaderOcclusion {
  /** Fraction of samples occluded: 0.5 = the paper's 1:1 clean/occluded mix. Default 1. */
  ratio?: number;
  protocol?: string;
  /** Test loaders: seed of the fixed occlusions (default: the loader seed). */
  seed?: number;
  /** Folder of occluder images; 'procedural' or absent: drawn occluders. */
  occluders?: string;
  /** Occluder side range at 224 px (the spec calls it size; default [96, 128]). */
  size?: [number, number];
  sizeRange?: [number, number];
  blockFill?: string;
  kinds?: string[];
}

/**
 * The call the loader makes per occluded sample; the default is src/data/occlusion's occlude().
 * `face` is the face square in image pixels (what CK+'s block sizes are relative to).
 */
export type OccludeFn = (
  image: { rgb: Uint8Array; width: number; height: number },
  landmarks: Float32Array,
  rng: Rng,
  face?: { x: number; y: number; side: number },
  label?: number,
) => OccludedImage | Promise<OccludedImage>;

export interface LoaderOptions {
  adapter: DatasetAdapter;
  options: DatasetOptions;
  samples: SampleRef[];
  inputSize: number;
  train: boolean;
  batchSize: number;
  seed: number;
  occlusion?: LoaderOcclusion;
  startPosition?: LoaderPosition;
  /** Epochs to produce: default unbounded for train (the runner stops), 1 for test. */
  epochs?: number;
  /** Drop an epoch's last partial batch: default true for train (fixed batch shapes), false for test. */
  dropLast?: boolean;
  /** Batches decoded ahead of the consumer (default 3). */
  prefetch?: number;
  /** Samples decoded at once (default min(batchSize, 16)). */
  concurrency?: number;
  /** Stop when more than this fraction of the samples is unreadable (default 0.05). */
  maxBadFraction?: number;
  /** Keep transformed test samples in memory, up to this many bytes (default 1 GiB; 0 = off). */
  testCacheBytes?: number;
  /** Replaces the occlusion module (tests, other protocols). */
  occlude?: OccludeFn;
  /** Called once per newly found bad sample. */
  onProblem?: (p: DataProblem) => void;
  /**
   * Called when the prefetcher has `prefetch` batches waiting and stops until the consumer takes
   * one (diagnostics: a loader that is always full is not the bottleneck).
   */
  onPrefetchFull?: (batches: number) => void;
}

export interface BatchLoader extends AsyncIterable<Batch> {
  /** Position after the last batch handed out: checkpoint it, pass it back as startPosition to resume. */
  position(): LoaderPosition;
  /** Samples in one epoch's order. */
  readonly samplesPerEpoch: number;
  /** Bad samples found so far, each once. */
  problems(): DataProblem[];
  /** Stops the prefetcher; pending work is dropped. */
  close(): void;
}

interface Prepared {
  rgb: Uint8Array;
  landmarks: Float32Array;
  mask?: Uint8Array;
}

interface Produced {
  batch?: Batch;
  after?: LoaderPosition;
  error?: unknown;
  done?: boolean;
}

/** The spec's occlusion entry in the occlusion module's terms. */
function toOcclusionSpec(o: LoaderOcclusion): OcclusionSpec {
  return {
    protocol: o.protocol,
    occluders: o.occluders && o.occluders !== 'procedural' ? o.occluders : undefined,
    sizeRange: o.sizeRange ?? o.size,
    blockFill: o.blockFill,
    kinds: o.kinds,
  };
}

interface Built {
  items: { ref: SampleRef; prep: Prepared }[];
}

/** The loader's settings with their defaults, checked. */
function loaderSettings(opts: LoaderOptions) {
  const { options, samples, inputSize: S, train, batchSize } = opts;
  if (samples.length === 0) throw new UserError(`dataset '${options.name}': no samples to load`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(S) || S < 8) throw new UserError(`input size must be an integer >= 8, got ${S}`);
  const dropLast = opts.dropLast ?? train;
  const N = samples.length;
  if (dropLast && N < batchSize) {
    throw new UserError(`dataset '${options.name}': ${N} samples cannot fill one batch of ${batchSize}`);
  }
  const occ = opts.occlusion;
  return {
    N,
    epochs: opts.epochs ?? (train ? Infinity : 1),
    dropLast,
    prefetch: Math.max(1, opts.prefetch ?? 3),
    concurrency: Math.max(1, opts.concurrency ?? Math.min(batchSize, 16)),
    // The spec sets it per dataset (DatasetOptions.maxBadFraction); the runner may override.
    maxBad: opts.maxBadFraction ?? (typeof options.maxBadFraction === 'number' ? options.maxBadFraction : 0.05),
    occ,
    ratio: occ ? Math.min(1, Math.max(0, occ.ratio ?? 1)) : 0,
  };
}
type Settings = ReturnType<typeof loaderSettings>;

/**
 * One sample decoded, transformed and (when drawn) occluded. Train samples get their own Rng
 * per epoch; test samples depend on (seed, id) only and are kept in memory up to a budget.
 */
function samplePreparer(opts: LoaderOptions, cfg: Settings): (ref: SampleRef, epoch: number) => Promise<Prepared> {
  const { adapter, options, inputSize: S, train, seed } = opts;
  const { occ, ratio } = cfg;
  const faceMargin = cropSettings(options).margin;
  let occludeFn: Promise<OccludeFn> | undefined;
  // The occluder folder is read once per loader, on the first occluded sample.
  const getOcclude = (): Promise<OccludeFn> =>
    (occludeFn ??= opts.occlude
      ? Promise.resolve(opts.occlude)
      : prepareOcclusion(toOcclusionSpec(occ!)).then((o) => (image, landmarks, rng, face, label) => occlude(image, landmarks, o, rng, face, label)));
  const cache = new Map<string, Prepared>();
  let cacheBytes = 0;
  const cacheLimit = train ? 0 : opts.testCacheBytes ?? 1 << 30;

  return async (ref, epoch) => {
    const hit = cache.get(ref.id);
    if (hit) return hit;
    // The dataset's face crop (full-frame formats) happens here, before the resize.
    const decoded = await loadSample(adapter, ref, options);
    let plan;
    let occRng: Rng | undefined;
    let occluded = false;
    if (train) {
      const rng = new Rng(deriveSeed(seed, 'aug', epoch, ref.id));
      plan = planTransform(S, true, rng);
      if (occ && ratio > 0) {
        occluded = rng.next() < ratio;
        occRng = rng;
      }
    } else {
      plan = planTransform(S, false);
      if (occ && ratio > 0) {
        // Test occlusions depend on (seed, id) only: every variant sees the same occluded images.
        const occSeed = occ.seed ?? seed;
        occluded = ratio >= 1 || new Rng(deriveSeed(occSeed, 'occluded', ref.id)).next() < ratio;
        occRng = occlusionRng(occSeed, ref.id);
      }
    }
    const t = await applyTransform(decoded, decoded.landmarks, plan);
    let out: Prepared = { rgb: t.rgb, landmarks: t.landmarks };
    if (occluded && occRng && occ) {
      const fn = await getOcclude();
      // The occluded copy keeps the clean landmarks (the paper's protocol).
      const o = await fn({ rgb: t.rgb, width: S, height: S }, t.landmarks, occRng, faceSquare(t.landmarks, faceMargin), ref.label);
      out = { rgb: o.rgb, landmarks: t.landmarks, mask: o.mask };
    }
    if (cacheLimit > 0) {
      const bytes = out.rgb.byteLength + out.landmarks.byteLength + (out.mask?.byteLength ?? 0);
      if (cacheBytes + bytes <= cacheLimit) {
        cache.set(ref.id, out);
        cacheBytes += bytes;
      }
    }
    return out;
  };
}

/** Unreadable samples, each reported once; more than maxBadFraction of them stops the loader. */
function badSamples(opts: LoaderOptions, cfg: Settings) {
  const bad = new Map<string, DataProblem>();
  return {
    has: (id: string) => bad.has(id),
    list: () => [...bad.values()],
    record(ref: SampleRef, err: unknown): void {
      if (!(err instanceof DataError)) throw err;
      if (bad.has(ref.id)) return;
      const p: DataProblem = { kind: err.kind, file: err.file, message: err.detail };
      bad.set(ref.id, p);
      opts.onProblem?.(p);
      if (bad.size > cfg.maxBad * cfg.N) {
        const shown = [...bad.values()].slice(0, 5).map((q) => `  ${q.kind}: ${q.file}: ${q.message}`).join('\n');
        throw new UserError(
          `dataset '${opts.options.name}': ${bad.size} of ${cfg.N} samples are unreadable, more than maxBadFraction ${cfg.maxBad}; stopping.\n${shown}` +
            (bad.size > 5 ? `\n  ... (${bad.size - 5} more; acnn data check lists them all)` : ''),
        );
      }
    },
  };
}

/**
 * Batches in order from a position: order(epoch) is the identity for test and a shuffle per
 * epoch for train; the places of bad samples are filled from the samples after them.
 */
function batchBuilder(opts: LoaderOptions, cfg: Settings, prepare: (ref: SampleRef, epoch: number) => Promise<Prepared>, bad: ReturnType<typeof badSamples>) {
  const { options, samples, train, batchSize, seed } = opts;
  const { N, epochs, dropLast, concurrency } = cfg;
  let orderEpoch = -1;
  let order: number[] = [];
  function orderFor(epoch: number): number[] {
    if (epoch !== orderEpoch) {
      order = Array.from({ length: N }, (_, i) => i);
      if (train) new Rng(deriveSeed(seed, 'order', epoch)).shuffle(order);
      orderEpoch = epoch;
    }
    return order;
  }

  let pos: LoaderPosition = normalise(opts.startPosition ?? { epoch: 0, index: 0 }, N);

  /** Up to a batch of prepared samples from `index` of `epoch`'s order, skipping bad ones. */
  async function gather(epoch: number, start: number): Promise<Built & { index: number }> {
    const ord = orderFor(epoch);
    const items: Built['items'] = [];
    let index = start;
    while (items.length < batchSize && index < N) {
      const want = Math.min(batchSize - items.length, concurrency);
      const refs: SampleRef[] = [];
      while (refs.length < want && index < N) {
        const ref = samples[ord[index++]];
        if (!bad.has(ref.id)) refs.push(ref);
      }
      const settled = await Promise.allSettled(refs.map((r) => prepare(r, epoch)));
      settled.forEach((s, k) => {
        if (s.status === 'fulfilled') items.push({ ref: refs[k], prep: s.value });
        else bad.record(refs[k], s.reason);
      });
    }
    return { items, index };
  }

  return {
    start: (): LoaderPosition => ({ ...pos }),
    /** The batch starting at the current position, and the position after it. */
    async next(): Promise<Produced> {
      for (;;) {
        if (pos.epoch >= epochs) return { done: true };
        const epoch = pos.epoch;
        const { items, index } = await gather(epoch, pos.index);
        if (items.length === 0 || (dropLast && items.length < batchSize)) {
          if (pos.index === 0) {
            // A whole epoch without one batch: going on would spin forever.
            throw new UserError(`dataset '${options.name}': only ${items.length} of ${N} samples are readable, not enough for one batch of ${batchSize}`);
          }
          // Nothing (or only a remainder that train drops) left in this epoch.
          pos = { epoch: epoch + 1, index: 0 };
          continue;
        }
        pos = index >= N ? { epoch: epoch + 1, index: 0 } : { epoch, index };
        return { batch: assemble(items, opts.inputSize), after: { ...pos } };
      }
    },
  };
}

function normalise(p: LoaderPosition, N: number): LoaderPosition {
  return p.index >= N ? { epoch: p.epoch + 1, index: 0 } : { epoch: p.epoch, index: Math.max(0, p.index) };
}

/** Samples into one batch: images as float32 in [0, 1], landmarks, labels, occluder masks when any. */
function assemble(items: Built['items'], S: number): Batch {
  const B = items.length;
  const px = S * S;
  const images = new Float32Array(B * px * 3);
  const landmarks = new Float32Array(B * 136);
  const labels = new Int32Array(B);
  const anyMask = items.some((it) => it.prep.mask);
  const occluderMasks = anyMask ? new Uint8Array(B * px) : undefined;
  const inv = 1 / 255;
  items.forEach((it, b) => {
    const src = it.prep.rgb;
    const off = b * px * 3;
    for (let i = 0; i < src.length; i++) images[off + i] = src[i] * inv;
    landmarks.set(it.prep.landmarks, b * 136);
    labels[b] = it.ref.label;
    if (occluderMasks && it.prep.mask) occluderMasks.set(it.prep.mask, b * px);
  });
  const batch: Batch = { size: B, ids: items.map((it) => it.ref.id), images, landmarks, labels };
  if (occluderMasks) batch.occluderMasks = occluderMasks;
  return batch;
}

/**
 * A bounded queue filled ahead of the consumer by one producer loop: `build` runs until
 * `depth` items wait, an error or the end is handed over in order and stays at the head.
 */
function prefetchQueue(build: () => Promise<Produced>, depth: number, onFull?: (batches: number) => void) {
  const queue: Produced[] = [];
  let producing = false;
  let closed = false;
  let finished = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;

  async function produce(): Promise<void> {
    producing = true;
    try {
      while (!closed && !finished) {
        while (queue.length >= depth && !closed) {
          onFull?.(queue.length);
          await new Promise<void>((r) => (wakeProducer = r));
        }
        if (closed) break;
        let item: Produced;
        try {
          item = await build();
        } catch (error) {
          item = { error };
        }
        if (item.done || item.error) finished = true;
        queue.push(item);
        wakeConsumer?.();
        wakeConsumer = undefined;
      }
    } finally {
      producing = false;
    }
  }

  return {
    /** The next item, or undefined once closed. */
    async take(): Promise<Produced | undefined> {
      if (closed) return undefined;
      if (!producing && !finished && queue.length === 0) void produce();
      while (queue.length === 0) await new Promise<void>((r) => (wakeConsumer = r));
      const item = queue.shift()!;
      wakeProducer?.();
      wakeProducer = undefined;
      // An error or the end stays at the head: every later call sees it again.
      if (item.error || item.done) queue.unshift(item);
      return item;
    },
    close(wakeBoth: boolean) {
      closed = true;
      wakeProducer?.();
      if (wakeBoth) wakeConsumer?.();
    },
  };
}

/**
 * Deterministic batches with prefetch. Order: identity for test, a shuffle per epoch from
 * deriveSeed(seed, 'order', epoch) for train. Augmentation: one Rng per sample and epoch from
 * deriveSeed(seed, 'aug', epoch, id), so a batch's content depends on the seed and its
 * position only, never on timing, prefetch depth or where a run was resumed.
 */
export function createLoader(opts: LoaderOptions): BatchLoader {
  const cfg = loaderSettings(opts);
  const bad = badSamples(opts, cfg);
  const builder = batchBuilder(opts, cfg, samplePreparer(opts, cfg), bad);
  const queue = prefetchQueue(builder.next, cfg.prefetch, opts.onPrefetchFull);
  let handed: LoaderPosition = builder.start();

  async function next(): Promise<IteratorResult<Batch>> {
    const item = await queue.take();
    if (!item || item.done) return { done: true, value: undefined };
    if (item.error) throw item.error;
    handed = item.after!;
    return { done: false, value: item.batch! };
  }

  return {
    samplesPerEpoch: cfg.N,
    position: () => ({ ...handed }),
    problems: () => bad.list(),
    close: () => queue.close(true),
    [Symbol.asyncIterator](): AsyncIterator<Batch> {
      return {
        next,
        return: async () => {
          queue.close(false);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
