import { promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import { exists, isDir } from '../../util/fs.js';
import { CLASSES, type DataProblem, type DatasetOptions, type DecodedSample, type SampleRef } from '../types.js';
import { DataError, decodeImageFile, type CropBox } from '../images.js';
import { cropLandmarks } from '../transforms.js';

/**
 * A SampleRef with what some formats need at decode time. Extra fields ride along on the
 * ref so that load() needs no state from list() (the runner may list once and load many times).
 */
export interface AdapterRef extends SampleRef {
  /** Face box to crop before anything else (AffectNet); landmarks are in the uncropped frame. */
  crop?: CropBox;
  /** Grey pixels held in memory (FER2013 keeps its images inside the CSV). */
  pixels?: Uint8Array;
  pixelsWidth?: number;
}

/** Environment variables the docs and errors suggest for each format's root. */
export const ROOT_ENV: Record<string, string> = {
  rafdb: 'RAFDB_ROOT',
  affectnet: 'AFFECTNET_ROOT',
  ckplus: 'CKPLUS_ROOT',
  sfew: 'SFEW_ROOT',
  oulu: 'OULU_ROOT',
  fedro: 'FEDRO_ROOT',
  fer2013: 'FER2013_ROOT',
  manifest: 'MMI_ROOT',
};

/** Fails with a UserError that names the path, the layout expected under it, and the env convention. */
export async function requireRoot(options: DatasetOptions, format: string, layout: string): Promise<string> {
  const env = ROOT_ENV[format] ?? `${format.toUpperCase()}_ROOT`;
  const hint =
    `Expected layout under the root:\n${layout}\n` +
    `Point the spec at it, e.g. datasets: {${options.name}: {format: ${format}, root: "\${env:${env}}"}} and export ${env}=/path/to/${format}.`;
  const root = typeof options.root === 'string' ? options.root.trim() : '';
  if (!root) throw new UserError(`dataset '${options.name}' (${format}) has no root.\n${hint}`);
  const abs = path.resolve(root);
  let st;
  try {
    st = await fs.stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ELOOP' ? 'is a loop of symbolic links' : `cannot be read (${code ?? (err as Error).message})`;
    throw new UserError(`dataset '${options.name}' (${format}): root ${abs} ${why}.\n${hint}`);
  }
  if (!st.isDirectory()) throw new UserError(`dataset '${options.name}' (${format}): root ${abs} is not a directory.\n${hint}`);
  return abs;
}

export { exists, isDir };

/** A required directory inside the root. */
export async function requireDir(dir: string, options: DatasetOptions, format: string, layout: string): Promise<string> {
  if (!(await isDir(dir))) {
    throw new UserError(`dataset '${options.name}' (${format}): directory ${dir} not found.\nExpected layout under the root:\n${layout}`);
  }
  return dir;
}

/** A required file inside the root: missing means the layout is wrong, which is the user's to fix. */
export async function requireFile(file: string, options: DatasetOptions, format: string, layout: string): Promise<string> {
  if (!(await exists(file))) {
    throw new UserError(`dataset '${options.name}' (${format}): ${file} not found.\nExpected layout under the root:\n${layout}`);
  }
  return file;
}

/**
 * A dataset's text file (labels, CSV, landmarks) as UTF-8 text, a byte-order mark dropped. A
 * file in another encoding is refused whole, naming the file (and the first line that is not
 * UTF-8): decoded anyway it would turn into thousands of wrong ids, labels and paths.
 */
export async function readText(file: string): Promise<string> {
  const buf = await readRegularFile(file);
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    throw new UserError(`${file}: UTF-16 text; acnn reads dataset files as UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)`);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) throw new UserError(`${file}:${lineAt(buf, nul)}: a NUL byte: not a text file (binary data, or UTF-16 without a byte-order mark)`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    throw new UserError(`${file}:${firstNonUtf8Line(buf)}: not UTF-8 text (Latin-1 or another encoding?); convert the file to UTF-8`);
  }
}

function lineAt(buf: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (buf[i] === 0x0a) line++;
  return line;
}

/**
 * A file's bytes, when it is a regular file: a pipe or device under a dataset file's name would
 * block the read forever (or never end). A folder, pipe or device is a UserError naming it.
 */
export async function readRegularFile(file: string): Promise<Buffer> {
  if (!(await fs.stat(file)).isFile()) throw notRegular(file);
  return fs.readFile(file);
}

/** readRegularFile for the few synchronous readers (a manifest's splits). */
export function readRegularFileSync(file: string): Buffer {
  if (!statSync(file).isFile()) throw notRegular(file);
  return readFileSync(file);
}

function notRegular(file: string): UserError {
  return new UserError(`${file}: not a regular file (a folder, pipe or device), so not a dataset file`);
}

/** The first line that is not valid UTF-8 (1-based). */
function firstNonUtf8Line(buf: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start <= buf.length; line++) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    try {
      decoder.decode(buf.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
  }
  return 1;
}

/** Lines without their terminators (CRLF tolerated); index + 1 is the line number. */
export async function readLines(file: string): Promise<string[]> {
  const lines = (await readText(file)).split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A record with the wrong number of fields, or undefined when it has `expected` (or at least `min`). */
export function fieldCountProblem(fields: string[], expect: { exactly?: number; atLeast?: number; names: string }, file: string, line: number): DataProblem | undefined {
  const n = fields.length;
  if (expect.exactly !== undefined && n !== expect.exactly) return problem('bad-record', file, `expected ${expect.exactly} fields (${expect.names}), found ${n}`, line);
  if (expect.atLeast !== undefined && n < expect.atLeast) return problem('bad-record', file, `expected at least ${expect.atLeast} fields (${expect.names}), found ${n}`, line);
  return undefined;
}

const IMAGE_EXT = /\.(jpe?g|png|bmp|tiff?|webp|gif)$/i;

/** Image files directly inside a directory, sorted by name so listings are stable. */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names.filter((n) => IMAGE_EXT.test(n) && !n.startsWith('.')).sort();
}

export async function listDirs(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/**
 * Class names as datasets spell them (folder names, manifest labels) onto CLASSES indices.
 * FED-RO's `neural` folder is a typo for neutral that shipped with the dataset.
 */
const CLASS_SYNONYMS: Record<string, number> = {
  neutral: 0, neural: 0, ne: 0,
  anger: 1, angry: 1, an: 1,
  disgust: 2, disgusted: 2, di: 2,
  fear: 3, fearful: 3, afraid: 3, fe: 3,
  happy: 4, happiness: 4, joy: 4, ha: 4,
  sad: 5, sadness: 5, sa: 5,
  surprise: 6, surprised: 6, surprize: 6, su: 6,
};

export function classFromName(name: string): number | undefined {
  return CLASS_SYNONYMS[name.trim().toLowerCase()];
}

/** Parses 136 numbers into 68 points; returns an error message instead of throwing. */
export function parseLandmarks(values: string[]): Float32Array | string {
  if (values.length !== 136) return `expected 136 landmark numbers, found ${values.length}`;
  const out = new Float32Array(136);
  for (let i = 0; i < 136; i++) {
    const v = Number(values[i]);
    if (values[i].trim() === '' || !Number.isFinite(v)) return `landmark value ${i + 1} is not a number: '${values[i]}'`;
    out[i] = v;
  }
  return out;
}

export function problem(kind: DataProblem['kind'], file: string, message: string, line?: number): DataProblem {
  return line === undefined ? { kind, file, message } : { kind, file, line, message };
}

/** Decodes a file-backed ref; the crop box and the landmarks move together. */
export async function loadFileRef(ref: AdapterRef): Promise<DecodedSample> {
  const img = await decodeImageFile(ref.source, ref.crop);
  if (!ref.landmarks) {
    throw new DataError(ref.source, 'no landmarks (run landmark detection first: acnn data check --detect)', 'bad-landmarks');
  }
  const landmarks = img.crop ? cropLandmarks(ref.landmarks, img.crop) : ref.landmarks;
  return { id: ref.id, width: img.width, height: img.height, rgb: img.rgb, landmarks, label: ref.label };
}

/** Split argument check shared by all adapters. */
export function requireSplit(format: string, split: string, known: string[]): void {
  if (!known.includes(split)) {
    throw new UserError(`format ${format} has no split '${split}' (known: ${known.join(', ')})`);
  }
}

export function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

export { CLASSES };
