import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetOptions, SampleRef } from '../types.js';
import { DataError } from '../images.js';
import { UserError } from '../../util/errors.js';
import { landmarkCsvRows, landmarkValues } from './file.js';
import { fitMeanShape } from './mean-shape.js';
import { contentOf, entryHolds, landmarkCacheFile, readCache, writeCache, type CacheEntry, type CacheFile } from './cache.js';
import { readText } from '../adapters/common.js';
import { createFaceApiDetector, type LandmarkDetector } from './detector.js';

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export { fitMeanShape, MEAN_SHAPE_68, DEFAULT_MEAN_SHAPE_BOX } from './mean-shape.js';
export { createFaceApiDetector, type LandmarkDetector } from './detector.js';

export type NoFacePolicy = 'skip' | 'meanShape';

export interface LandmarkStats {
  /** Points shipped with the dataset (AffectNet, CK+, manifest, synthetic). */
  fromDataset: number;
  /** Detected earlier and read from the landmarks cache. */
  fromCache: number;
  /** Detected in this call. */
  detected: number;
  /** No face found (this call or cached); handled by the noFace policy. */
  noFace: number;
  /** Of noFace: given the mean shape. */
  meanShape: number;
  /** Still without points (detection not run, or the image could not be read). */
  missing: number;
}

export interface ResolveOptions {
  /** Run the detector on samples neither the dataset nor the cache covers (default true). */
  detect?: boolean;
  noFace?: NoFacePolicy;
  /** Folder of landmark caches; default options.cacheDir, else <$ACNN_CACHE_DIR or .cache>/landmarks. */
  cacheDir?: string;
  /** Reuse a detector across datasets (tests, batch jobs); otherwise one is created and disposed. */
  detector?: LandmarkDetector;
  onProgress?: (done: number, total: number) => void;
}

export interface ResolvedListing {
  samples: SampleRef[];
  problems: DataProblem[];
  stats: LandmarkStats;
}

export { landmarkCacheDir, landmarkCacheFile, pixelFrameKey } from './cache.js';

export interface LandmarkSettings {
  /** dataset: the dataset's points, detection for samples without; detect: detect every sample; file: read `file`. */
  source: 'dataset' | 'detect' | 'file';
  file?: string;
  noFace: NoFacePolicy;
}

/** The spec's `landmarks:` entry of a dataset, with its defaults (noFace: skip, as the schema says). */
export function landmarkSettings(options: DatasetOptions): LandmarkSettings {
  const l = (options.landmarks && typeof options.landmarks === 'object' ? options.landmarks : {}) as Record<string, unknown>;
  const source = l.source === 'detect' || l.source === 'file' ? l.source : 'dataset';
  const nf = l.noFace ?? options.noFace;
  return { source, file: typeof l.file === 'string' ? l.file : undefined, noFace: nf === 'meanShape' ? 'meanShape' : 'skip' };
}

/**
 * A landmarks file given by the user (source: file): either a cache file of ours (JSON), or a
 * CSV with one line per image: id (or path relative to root),x1,y1,...,x68,y68.
 */
async function readLandmarksFile(file: string): Promise<{ points: Map<string, Float32Array>; problems: DataProblem[] }> {
  let text: string;
  try {
    text = await readText(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new UserError(`landmarks file ${file} not found (landmarks: {source: file, file: ...} is relative to the dataset root)`);
  }
  const points = new Map<string, Float32Array>();
  const problems: DataProblem[] = [];
  if (text.trimStart().startsWith('{')) {
    let parsed: Partial<CacheFile>;
    try {
      parsed = JSON.parse(text) as Partial<CacheFile>;
    } catch (err) {
      throw new UserError(`landmarks file ${file}: not valid JSON (${(err as Error).message})`);
    }
    for (const [id, e] of Object.entries(isPlainObject(parsed.entries) ? parsed.entries : {})) {
      const p = (e as Partial<CacheEntry> | null)?.p;
      if (Array.isArray(p) && p.length === 136 && p.every((v) => typeof v === 'number' && Number.isFinite(v))) points.set(id, Float32Array.from(p));
      else if (p !== null) problems.push({ kind: 'bad-landmarks', file, message: `entry ${JSON.stringify(id).slice(0, 80)}: expected 136 numbers` });
    }
    return { points, problems };
  }
  for (const row of landmarkCsvRows(text, file)) {
    const pts = row.id === undefined ? `expected an id and 136 numbers, got ${row.values.length} fields` : landmarkValues(row.values);
    if (typeof pts === 'string') {
      problems.push({ kind: 'bad-landmarks', file, line: row.line, message: row.id === undefined ? pts : `landmarks of ${row.id}: ${pts}` });
      continue;
    }
    points.set(row.id!, pts);
  }
  return { points, problems };
}

// Detection of a large dataset takes a while; saving every so often lets an interrupted
// run pick up where it stopped.
const SAVE_EVERY = 200;

/**
 * Gives every sample its 68 points: the dataset's own, else the cache, else the detector
 * (whose results are cached so detection runs once per dataset). Images without a face are
 * counted, reported as 'no-face' problems, and dropped or given the mean shape per policy.
 */
export async function resolveLandmarks(
  adapter: DatasetAdapter,
  options: DatasetOptions,
  samples: SampleRef[],
  opts: ResolveOptions = {},
): Promise<ResolvedListing> {
  const stats: LandmarkStats = { fromDataset: 0, fromCache: 0, detected: 0, noFace: 0, meanShape: 0, missing: 0 };
  const problems: DataProblem[] = [];
  const settings = landmarkSettings(options);
  const noFace: NoFacePolicy = opts.noFace ?? settings.noFace;
  if (settings.source === 'file') {
    if (!settings.file) throw new UserError(`dataset '${options.name}': landmarks: {source: file} needs file: <path relative to root>`);
    const file = path.resolve(typeof options.root === 'string' ? options.root : '.', settings.file);
    const read = await readLandmarksFile(file);
    problems.push(...read.problems);
    const rootDir = typeof options.root === 'string' ? path.resolve(options.root) : undefined;
    const out: SampleRef[] = [];
    for (const s of samples) {
      const relPath = rootDir ? path.relative(rootDir, s.source).split(path.sep).join('/') : undefined;
      const pts = read.points.get(s.id) ?? (relPath ? read.points.get(relPath) : undefined);
      if (pts) {
        stats.fromCache++;
        out.push({ ...s, landmarks: pts });
      } else if (s.landmarks) {
        stats.fromDataset++;
        out.push(s);
      } else {
        stats.missing++;
        problems.push({ kind: 'bad-landmarks', file: s.source, message: `no entry in landmarks file ${file}` });
      }
    }
    return { samples: out, problems, stats };
  }
  // source: detect replaces the dataset's own points with detections.
  if (settings.source === 'detect') samples = samples.map((s) => (s.landmarks ? { ...s, landmarks: undefined } : s));
  const need = samples.filter((s) => !s.landmarks);
  stats.fromDataset = samples.length - need.length;
  if (need.length === 0) return { samples, problems, stats };

  const file = landmarkCacheFile(options, opts.cacheDir);
  const cache = await readCache(file, options);
  const stale = new Set<SampleRef>();
  let unsaved = 0;
  await forEachLimited(need, 32, async (s) => {
    const { holds, refreshed } = await entryHolds(cache.entries[s.id], s);
    if (!holds) stale.add(s);
    else if (refreshed) unsaved++;
  });
  // Entries detected on other pixels are forgotten, so a sample left undetected reads as missing.
  for (const s of stale) delete cache.entries[s.id];
  const remaining = need.filter((s) => stale.has(s));
  let detector = opts.detector;
  const ownDetector = !detector && remaining.length > 0 && opts.detect !== false;
  if (ownDetector) detector = await createFaceApiDetector();
  try {
    if (detector && opts.detect !== false) {
      let done = 0;
      for (const ref of remaining) {
        try {
          // load() wants points to carry through its crop; detection only needs the pixels.
          const content = await contentOf(ref);
          const img = await adapter.load({ ...ref, landmarks: new Float32Array(136) }, options);
          const pts = await detector.detect(img);
          const p = pts ? Array.from(pts, (v) => Math.round(v * 100) / 100) : null;
          cache.entries[ref.id] = { w: img.width, h: img.height, p, k: await content.k(), ...(content.s ? { s: content.s } : {}) };
          if (pts) stats.detected++;
          unsaved++;
        } catch (err) {
          // Unreadable images are the loader's and data check's to report; here they just stay uncovered.
          if (!(err instanceof DataError) && !isFsError(err)) throw err;
        }
        done++;
        opts.onProgress?.(done, remaining.length);
        if (unsaved >= SAVE_EVERY) {
          await writeCache(file, cache);
          unsaved = 0;
        }
      }
    }
  } finally {
    if (unsaved > 0) await writeCache(file, cache);
    if (ownDetector) detector?.dispose();
  }

  const detectedNow = new Set(remaining.map((s) => s.id));
  const out: SampleRef[] = [];
  for (const s of samples) {
    if (s.landmarks) {
      out.push(s);
      continue;
    }
    const e = cache.entries[s.id];
    if (!e) {
      stats.missing++;
      out.push(s);
      continue;
    }
    if (e.p && e.p.length === 136) {
      if (!detectedNow.has(s.id)) stats.fromCache++;
      out.push({ ...s, landmarks: Float32Array.from(e.p) });
      continue;
    }
    stats.noFace++;
    if (noFace === 'meanShape') {
      stats.meanShape++;
      problems.push({ kind: 'no-face', file: s.source, message: 'no face found by the landmark detector; mean face shape fitted to the image frame' });
      out.push({ ...s, landmarks: fitMeanShape(e.w, e.h) });
    } else {
      problems.push({ kind: 'no-face', file: s.source, message: 'no face found by the landmark detector; sample skipped (noFace: skip)' });
    }
  }
  return { samples: out, problems, stats };
}

/** A file system error (the image vanished or cannot be read between listing and detection). */
function isFsError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** Runs `fn` over `items`, at most `limit` at a time (stat and hash calls over a whole dataset). */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
