/**
 * The built-in `synthetic` dataset: procedurally drawn faces with exact 68 landmarks and the
 * 7 expressions, so every command works on a fresh machine with no download. `style` picks a
 * family (families.ts): wild faces (the default), harder wild faces, or posed lab recordings
 * with subjects and neutral/peak frames.
 *
 * Sample ids are `synthetic:<seed>:<split>:<index>`; a sample is a pure function of (seed,
 * split, index, render options), rendered on demand and cached in memory (LRU) and, when
 * `cacheDir` is given, on disk as `<cacheDir>/<seed>/<options hash>/<split>/<index>.png`
 * plus a `.json` with label and landmarks.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../../util/atomic.js';
import { UserError } from '../../util/errors.js';
import { deriveSeed, Rng } from '../../util/rng.js';
import { NUM_CLASSES, type DatasetAdapter, type DatasetListing, type DatasetOptions, type DecodedSample, type SampleRef } from '../types.js';
import { applyPose, faceLandmarks, fitPose, makePose } from './face.js';
import { renderFace, sampleFaceSpec, type FaceSpec, type SpecOptions } from './render.js';
import { hardFaceSpec, labFaceSpec, labFrame, labSubjectId, MAX_EXPRESSIONS, STYLE_DEFAULTS, SYNTHETIC_STYLES, toGrey, type SyntheticStyle } from './families.js';

export { EXPRESSIONS, ACTION_NAMES, type Actions } from './face.js';
export { renderFace, sampleFaceSpec, type FaceSpec, type RenderedFace } from './render.js';
export { SYNTHETIC_STYLES, labFrame, type SyntheticStyle } from './families.js';

/** Bump when the drawing changes, so stale disk caches are never read back. */
export const SYNTHETIC_VERSION = 1;

export interface SyntheticOptions {
  seed: number;
  /** The family: wild (default), hard, lab. */
  style: SyntheticStyle;
  /** Samples per split (lab: one split, `all`). */
  counts: Record<string, number>;
  /** lab: number of subjects and of sequences (expressions) per subject. */
  subjects: number;
  expressions: number;
  /** Grey images (luma in every channel). */
  grey: boolean;
  /** Render side in pixels. */
  size: number;
  intensity: [number, number];
  noise: [number, number];
  cacheDir?: string;
  /** In-memory LRU capacity, in samples (0 disables it). */
  memoryCache: number;
}

const SPLITS = ['train', 'val', 'test'] as const;
/** The lab family's one split: its samples are split by subject folds, as CK+'s are. */
const LAB_SPLIT = 'all';
const DEFAULTS = { train: 2000, test: 400, seed: 1, size: 128, memoryCache: 1024, subjects: 40, expressions: MAX_EXPRESSIONS };

function num(options: DatasetOptions, key: string, fallback: number, min: number, integer = true): number {
  const v = options[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new UserError(`dataset '${options.name}': ${key} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function pair(options: DatasetOptions, key: string, fallback: [number, number], lo: number, hi: number): [number, number] {
  const v = options[key];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && x >= lo && x <= hi) || v[0] > v[1]) {
    throw new UserError(`dataset '${options.name}': ${key} must be [min, max] within [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function styleOf(options: DatasetOptions): SyntheticStyle {
  const v = options.style ?? 'wild';
  if (!(SYNTHETIC_STYLES as readonly unknown[]).includes(v)) {
    throw new UserError(`dataset '${options.name}': style must be one of ${SYNTHETIC_STYLES.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as SyntheticStyle;
}

/** Keys that only one kind of family reads: a key the family would ignore is an error. */
function rejectKeys(options: DatasetOptions, style: SyntheticStyle, keys: string[], why: string): void {
  const given = keys.filter((k) => options[k] !== undefined && options[k] !== null);
  if (given.length) throw new UserError(`dataset '${options.name}': ${given.join(', ')} ${given.length > 1 ? 'do' : 'does'} not apply to style ${style} (${why})`);
}

function splitCounts(options: DatasetOptions, style: SyntheticStyle): { counts: Record<string, number>; subjects: number; expressions: number } {
  if (style === 'lab') {
    rejectKeys(options, style, ['train', 'val', 'test'], `its one split, ${LAB_SPLIT}, holds subjects x expressions x 2 frames`);
    const subjects = num(options, 'subjects', DEFAULTS.subjects, 1);
    const expressions = num(options, 'expressions', DEFAULTS.expressions, 1);
    if (expressions > MAX_EXPRESSIONS) throw new UserError(`dataset '${options.name}': expressions must be 1 .. ${MAX_EXPRESSIONS} (sequences per subject, one per expression), got ${expressions}`);
    return { counts: { [LAB_SPLIT]: subjects * expressions * 2 }, subjects, expressions };
  }
  rejectKeys(options, style, ['subjects', 'expressions'], 'subjects and sequences belong to style lab');
  const counts = { train: num(options, 'train', DEFAULTS.train, 0), val: num(options, 'val', 0, 0), test: num(options, 'test', DEFAULTS.test, 0) };
  return { counts, subjects: 0, expressions: 0 };
}

export function parseSyntheticOptions(options: DatasetOptions): SyntheticOptions {
  const style = styleOf(options);
  const cacheDir = options.cacheDir;
  if (cacheDir !== undefined && cacheDir !== null && typeof cacheDir !== 'string') {
    throw new UserError(`dataset '${options.name}': cacheDir must be a path`);
  }
  if (options.grey !== undefined && options.grey !== null && typeof options.grey !== 'boolean') {
    throw new UserError(`dataset '${options.name}': grey must be true or false, got ${JSON.stringify(options.grey)}`);
  }
  const defaults = STYLE_DEFAULTS[style];
  return {
    seed: num(options, 'seed', DEFAULTS.seed, 0),
    style,
    ...splitCounts(options, style),
    grey: options.grey === true,
    // `imageSize` is the spec's name for it (schemas/spec.schema.json); `size` is kept for direct callers.
    size: num(options, 'imageSize', num(options, 'size', DEFAULTS.size, 16), 16),
    intensity: pair(options, 'intensity', [defaults.intensity[0], defaults.intensity[1]], 0, 1.5),
    noise: pair(options, 'noise', [defaults.noise[0], defaults.noise[1]], 0, 64),
    cacheDir: typeof cacheDir === 'string' ? cacheDir : undefined,
    memoryCache: num(options, 'memoryCache', DEFAULTS.memoryCache, 0),
  };
}

/**
 * The label of sample `index`: each consecutive block of 7 is a shuffled permutation of the
 * classes, so any prefix is balanced to within one and the label never depends on the split size.
 */
export function syntheticLabel(seed: number, split: string, index: number): number {
  const block = Math.floor(index / NUM_CLASSES);
  const perm = new Rng(deriveSeed(seed, 'synthetic-labels', split, block)).shuffle([...Array(NUM_CLASSES).keys()]);
  return perm[index % NUM_CLASSES];
}

export function syntheticId(seed: number, split: string, index: number): string {
  return `synthetic:${seed}:${split}:${index}`;
}

export function parseSyntheticId(id: string): { seed: number; split: string; index: number } {
  const m = /^synthetic:(\d+):([A-Za-z0-9_-]+):(\d+)$/.exec(id);
  if (!m) throw new Error(`not a synthetic sample id: '${id}'`);
  return { seed: Number(m[1]), split: m[2], index: Number(m[3]) };
}

function specOptions(o: SyntheticOptions): SpecOptions {
  return { intensity: o.intensity, noise: o.noise };
}

/** The label of a sample of this family. */
function familyLabel(o: SyntheticOptions, split: string, index: number, seed = o.seed): number {
  return o.style === 'lab' ? labFrame(seed, o.expressions, index).label : syntheticLabel(seed, split, index);
}

/** Everything that decides a sample's drawing, by family. */
function faceSpecOf(o: SyntheticOptions, split: string, index: number, seed: number): FaceSpec {
  if (o.style === 'lab') return labFaceSpec(seed, index, o.expressions, specOptions(o));
  const label = syntheticLabel(seed, split, index);
  return o.style === 'hard' ? hardFaceSpec(seed, split, index, label, specOptions(o)) : sampleFaceSpec(seed, split, index, label, specOptions(o));
}

/** Landmarks without drawing: cheap, so list() can hand them out for landmark coverage checks. */
export function syntheticLandmarks(o: SyntheticOptions, split: string, index: number, seed = o.seed): Float32Array {
  const spec = faceSpecOf(o, split, index, seed);
  const geo = faceLandmarks(spec.identity, spec.left, spec.right);
  const pose = fitPose(makePose(o.size, spec.angle, spec.scaleFrac, spec.dx, spec.dy), geo.points, o.size, 1);
  const out = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    const [x, y] = applyPose(pose, geo.points[2 * i], geo.points[2 * i + 1]);
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

/** Renders one sample without touching any cache. */
export function renderSynthetic(o: SyntheticOptions, split: string, index: number, seed = o.seed): DecodedSample {
  const face = renderFace(faceSpecOf(o, split, index, seed), o.size);
  const rgb = o.grey ? toGrey(face.rgb) : face.rgb;
  return { id: syntheticId(seed, split, index), width: face.width, height: face.height, rgb, landmarks: face.landmarks, label: face.label };
}

/** PNG bytes of an RGB sample; zlib settings fixed so the same pixels give the same bytes. */
export function encodePng(sample: { rgb: Uint8Array; width: number; height: number }): Promise<Buffer> {
  return sharp(Buffer.from(sample.rgb.buffer, sample.rgb.byteOffset, sample.rgb.byteLength), {
    raw: { width: sample.width, height: sample.height, channels: 3 },
  })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Everything that changes the pixels, hashed, so different render options never share a cache entry. */
export function renderKey(o: SyntheticOptions): string {
  // Family keys enter only when they differ from the default, so the wild faces keep their cache.
  const family = {
    ...(o.style !== 'wild' ? { style: o.style } : {}),
    ...(o.style === 'lab' ? { expressions: o.expressions } : {}),
    ...(o.grey ? { grey: true } : {}),
  };
  const h = createHash('sha256').update(JSON.stringify({ v: SYNTHETIC_VERSION, size: o.size, intensity: o.intensity, noise: o.noise, ...family })).digest('hex');
  return `${o.size}px-${h.slice(0, 10)}`;
}

class Lru<V> {
  private map = new Map<string, V>();
  constructor(public capacity: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}

// Shared by every load() in the process: the same sample requested by train and preview is drawn once.
const memory = new Lru<DecodedSample>(DEFAULTS.memoryCache);

function copy(s: DecodedSample): DecodedSample {
  return { ...s, rgb: s.rgb.slice(), landmarks: s.landmarks.slice() };
}

export function cachePaths(o: SyntheticOptions, seed: number, split: string, index: number): { png: string; json: string } | undefined {
  if (!o.cacheDir) return undefined;
  const base = path.join(o.cacheDir, String(seed), renderKey(o), split, String(index));
  return { png: `${base}.png`, json: `${base}.json` };
}

async function readDisk(paths: { png: string; json: string }, id: string): Promise<DecodedSample | undefined> {
  let meta: { label: number; landmarks: number[]; width: number; height: number };
  let png: Buffer;
  try {
    meta = JSON.parse(await fs.readFile(paths.json, 'utf8'));
    png = await fs.readFile(paths.png);
  } catch {
    return undefined;
  }
  try {
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== meta.width || info.height !== meta.height || meta.landmarks.length !== 136) return undefined;
    return { id, width: info.width, height: info.height, rgb: new Uint8Array(data), landmarks: Float32Array.from(meta.landmarks), label: meta.label };
  } catch {
    // A truncated or corrupt cache file is just a cache miss: the sample is re-rendered.
    return undefined;
  }
}

async function writeDisk(paths: { png: string; json: string }, s: DecodedSample): Promise<void> {
  // The JSON goes last: a reader that finds it can trust the PNG beside it is complete.
  await writeFileAtomic(paths.png, await encodePng(s));
  await writeFileAtomic(paths.json, JSON.stringify({ id: s.id, label: s.label, width: s.width, height: s.height, landmarks: Array.from(s.landmarks) }) + '\n');
}

export async function loadSynthetic(o: SyntheticOptions, id: string): Promise<DecodedSample> {
  const { seed, split, index } = parseSyntheticId(id);
  const key = `${seed}:${renderKey(o)}:${split}:${index}`;
  memory.capacity = Math.max(memory.capacity, o.memoryCache);
  const hit = o.memoryCache > 0 ? memory.get(key) : undefined;
  if (hit) return copy(hit);
  const paths = cachePaths(o, seed, split, index);
  let sample = paths ? await readDisk(paths, id) : undefined;
  if (!sample) {
    sample = renderSynthetic(o, split, index, seed);
    if (paths) await writeDisk(paths, sample);
  }
  if (o.memoryCache > 0) memory.set(key, sample);
  return copy(sample);
}

export const syntheticAdapter: DatasetAdapter = {
  format: 'synthetic',
  splits(options: DatasetOptions): string[] {
    const o = parseSyntheticOptions(options);
    if (o.style === 'lab') return [LAB_SPLIT];
    return SPLITS.filter((s) => s !== 'val' || o.counts.val > 0);
  },
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    const o = parseSyntheticOptions(options);
    if (!(split in o.counts)) {
      throw new UserError(`dataset '${options.name}': the synthetic dataset${o.style === 'lab' ? ' (style lab)' : ''} has no split '${split}' (${Object.keys(o.counts).join(', ')})`);
    }
    const samples: SampleRef[] = [];
    for (let i = 0; i < o.counts[split]; i++) {
      const id = syntheticId(o.seed, split, i);
      // Wild faces are all different people; lab frames share their subject's id (subject-independent folds).
      const subject = o.style === 'lab' ? labSubjectId(labFrame(o.seed, o.expressions, i).subject) : `${split}-${i}`;
      samples.push({ id, source: id, label: familyLabel(o, split, i), split, landmarks: syntheticLandmarks(o, split, i), subject });
    }
    return { samples, problems: [] };
  },
  load(ref: SampleRef, options: DatasetOptions): Promise<DecodedSample> {
    return loadSynthetic(parseSyntheticOptions(options), ref.id);
  },
};

/** Render throughput, images per second, for `size`-pixel faces (no caching). */
export function measureRenderSpeed(size: number, count = 200, seed = 1): number {
  const o = parseSyntheticOptions({ name: 'bench', format: 'synthetic', size, seed });
  renderSynthetic(o, 'bench', 0);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) renderSynthetic(o, 'bench', i);
  return (count * 1000) / (performance.now() - t0);
}
