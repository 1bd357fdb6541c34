import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetOptions, SampleRef } from '../types.js';
import { DataError } from '../images.js';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { landmarkCsvRows, landmarkValues } from './file.js';
import { fitMeanShape } from './mean-shape.js';
import { createFaceApiDetector, type LandmarkDetector } from './detector.js';

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

/** One cache entry: points, or null when the detector found no face (so it is not run again). */
interface CacheEntry {
  w: number;
  h: number;
  p: number[] | null;
}
interface CacheFile {
  version: 1;
  format: string;
  root: string;
  detector: string;
  entries: Record<string, CacheEntry>;
}

const DETECTOR_ID = 'face-api tiny-face-detector|ssd-mobilenetv1 + face-landmark-68';

/**
 * The folder of landmark files: options.cacheDir as given (the runner passes <cache>/landmarks),
 * else <$ACNN_CACHE_DIR or .cache>/landmarks, the runner's default, so that
 * `acnn data check --detect` fills the cache a later `acnn run` reads.
 */
export function landmarkCacheDir(options: DatasetOptions, override?: string): string {
  const dir = override ?? (typeof options.cacheDir === 'string' ? options.cacheDir : undefined);
  return dir ? path.resolve(dir) : path.resolve(process.env.ACNN_CACHE_DIR ?? '.cache', 'landmarks');
}

/**
 * One cache file per dataset variant: the root and the image mode are part of the key, since
 * RAF-DB's aligned and original images share ids but not pixel frames.
 */
export function landmarkCacheFile(options: DatasetOptions, override?: string): string {
  const spec = landmarkSettings(options);
  if (spec.source === 'detect' && spec.file && typeof options.root === 'string') return path.resolve(options.root, spec.file);
  const key = JSON.stringify([options.format, options.root ?? '', options.images ?? '', options.manifest ?? '', options.splits ?? '']);
  const h = createHash('sha256').update(key).digest('hex').slice(0, 10);
  const safe = options.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(landmarkCacheDir(options, override), `${safe}-${options.format}-${h}.json`);
}

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
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new UserError(`landmarks file ${file} not found (landmarks: {source: file, file: ...} is relative to the dataset root)`);
  }
  const points = new Map<string, Float32Array>();
  const problems: DataProblem[] = [];
  if (text.trimStart().startsWith('{')) {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    for (const [id, e] of Object.entries(parsed.entries ?? {})) if (e?.p?.length === 136) points.set(id, Float32Array.from(e.p));
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

async function readCache(file: string, options: DatasetOptions): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as CacheFile;
    if (parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UserError(`landmarks cache ${file} is unreadable (${(err as Error).message}); delete it to detect again`);
    }
  }
  return { version: 1, format: options.format, root: String(options.root ?? ''), detector: DETECTOR_ID, entries: {} };
}

async function writeCache(file: string, cache: CacheFile): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(cache));
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
  const remaining = need.filter((s) => !(s.id in cache.entries));
  let detector = opts.detector;
  const ownDetector = !detector && remaining.length > 0 && opts.detect !== false;
  if (ownDetector) detector = await createFaceApiDetector();
  let unsaved = 0;
  try {
    if (detector && opts.detect !== false) {
      let done = 0;
      for (const ref of remaining) {
        try {
          // load() wants points to carry through its crop; detection only needs the pixels.
          const img = await adapter.load({ ...ref, landmarks: new Float32Array(136) }, options);
          const pts = await detector.detect(img);
          cache.entries[ref.id] = { w: img.width, h: img.height, p: pts ? Array.from(pts, (v) => Math.round(v * 100) / 100) : null };
          if (pts) stats.detected++;
          unsaved++;
        } catch (err) {
          // Unreadable images are the loader's and data check's to report; here they just stay uncovered.
          if (!(err instanceof DataError)) throw err;
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
