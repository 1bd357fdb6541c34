/**
 * The landmark cache: points the detector found, so detection runs once per image. An entry is
 * only as good as the pixels it was found on, so each one records what it was detected on (a
 * hash of the image's bytes and the adapter's own crop box) and is used only while that holds:
 * an edited image, another image under the same id (RAF-DB's aligned and original images share
 * ids), or a FER2013 row that moved to another line is detected again.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DatasetOptions, SampleRef } from '../types.js';
import type { AdapterRef } from '../adapters/common.js';
import { UserError } from '../../util/errors.js';
import { DataError } from '../images.js';
import { writeFileAtomic } from '../../util/atomic.js';

/** One cache entry: points, or null when the detector found no face (so it is not run again). */
export interface CacheEntry {
  w: number;
  h: number;
  p: number[] | null;
  /** What the points were found on: sha256 of the image bytes (or in-memory pixels) and the adapter's crop box. */
  k: string;
  /** size:mtime of the file when `k` was computed: while it holds the file is not hashed again. */
  s?: string;
}

export interface CacheFile {
  version: 2;
  format: string;
  detector: string;
  entries: Record<string, CacheEntry>;
}

export const DETECTOR_ID = 'face-api tiny-face-detector|ssd-mobilenetv1 + face-landmark-68';

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
 * What decides the pixels the detector sees, besides each image's own bytes (which every entry
 * checks): the format and which of its images are read. The root is not part of it (moving the
 * data keeps the cache: entries are checked by content). The face crop (`crop`, `cropMargin`)
 * and the input size are not either: they are applied after the points, which stay in the
 * decoded image's own frame, and move with the pixels.
 */
export function pixelFrameKey(options: DatasetOptions): unknown[] {
  const rafMode = options.format === 'rafdb' ? (options.aligned === false || options.images === 'original' ? 'original' : 'aligned') : '';
  return [options.format, rafMode, options.imagesDir ?? '', options.light ?? '', options.illumination ?? '', 2];
}

/** One cache file per dataset variant (pixelFrameKey): a different variant never shares entries. */
export function landmarkCacheFile(options: DatasetOptions, override?: string): string {
  const h = createHash('sha256').update(JSON.stringify(pixelFrameKey(options))).digest('hex').slice(0, 10);
  const safe = options.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(landmarkCacheDir(options, override), `${safe}-${options.format}-${h}.json`);
}

export async function readCache(file: string, options: DatasetOptions): Promise<CacheFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyCache(options);
    throw new UserError(`landmarks cache ${file} is unreadable (${(err as Error).message}); delete it to detect again`);
  }
  let parsed: Partial<CacheFile>;
  try {
    parsed = JSON.parse(text) as Partial<CacheFile>;
  } catch (err) {
    throw new UserError(`landmarks cache ${file} is not valid JSON (${(err as Error).message}); delete it to detect again`);
  }
  // Another version's entries do not say what they were detected on: detected again.
  if (parsed.version !== 2 || typeof parsed.entries !== 'object' || parsed.entries === null) return emptyCache(options);
  return parsed as CacheFile;
}

function emptyCache(options: DatasetOptions): CacheFile {
  return { version: 2, format: options.format, detector: DETECTOR_ID, entries: {} };
}

/** temp file + fsync + rename: a kill mid-save leaves the previous cache, never half of one. */
export async function writeCache(file: string, cache: CacheFile): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(cache));
}

/** What an entry for `ref` must have been detected on: its content key, and the file's size:mtime. */
export async function contentOf(ref: SampleRef): Promise<{ k: () => Promise<string>; s?: string }> {
  const a = ref as AdapterRef;
  const box = a.crop ? JSON.stringify(a.crop) : '';
  if (a.pixels) {
    const k = sha(a.pixels, box);
    return { k: async () => k };
  }
  const st = await fs.stat(ref.source);
  if (!st.isFile()) throw new DataError(ref.source, 'not a regular file (a folder, pipe or device)', 'other');
  return { s: `${st.size}:${st.mtimeMs}:${box}`, k: async () => sha(await fs.readFile(ref.source), box) };
}

function sha(bytes: Uint8Array, box: string): string {
  return createHash('sha256').update(bytes).update(box).digest('hex').slice(0, 32);
}

/**
 * Whether the cached entry of `ref` was detected on the pixels `ref` has now. A file whose size
 * and mtime are unchanged is not read again; otherwise its bytes are hashed, and a match (a copy
 * of the same data elsewhere) refreshes the entry's size:mtime.
 */
export async function entryHolds(entry: CacheEntry | undefined, ref: SampleRef): Promise<{ holds: boolean; refreshed: boolean }> {
  if (!entry || typeof entry.k !== 'string') return { holds: false, refreshed: false };
  let c;
  try {
    c = await contentOf(ref);
  } catch {
    return { holds: false, refreshed: false }; // unreadable now: the loader reports it
  }
  if (c.s !== undefined && entry.s === c.s) return { holds: true, refreshed: false };
  if ((await c.k()) !== entry.k) return { holds: false, refreshed: false };
  if (c.s === undefined || entry.s === c.s) return { holds: true, refreshed: false };
  entry.s = c.s;
  return { holds: true, refreshed: true };
}
