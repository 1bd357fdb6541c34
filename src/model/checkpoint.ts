/**
 * Checkpoints in the TF.js weights format: a directory with `model.json` (weightsManifest plus
 * acnn's own keys) and `weights.bin`, readable by tf.io.decodeWeights / any TF.js weights loader.
 * Tensor names: `model/<variable>` (every variable, BN running statistics included) and
 * `optimizer/<name>` (the optimizer's state, names made independent of the model instance).
 *
 * Writes are atomic: the directory is written under a temporary name, fsynced, then swapped in
 * by rename, so a crash leaves either the old or the new checkpoint, never a mix.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { fsyncPath, writeFileSynced } from '../util/atomic.js';
import type { AcnnModel, ModelOptions } from './types.js';

export const CHECKPOINT_FORMAT = 'acnn-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** The shape of tf.Optimizer.getWeights()'s entries (tfjs-core's NamedTensor, not re-exported by tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export type TensorMapLike = Map<string, tf.Tensor> | Record<string, tf.Tensor> | NamedTensor[];

export interface SaveOptions {
  /** Optimizer state, e.g. `await optimizer.getWeights()`. */
  optimizer?: TensorMapLike;
  /** Free-form JSON stored in model.json (step, run id, ...). */
  meta?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  /** Optimizer state renamed for this model instance: pass to `optimizer.setWeights()`. */
  optimizer: NamedTensor[];
  meta: Record<string, unknown>;
  options: ModelOptions;
}

export class CheckpointError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/**
 * A checkpoint that could not be written (a full disk, no permission): names the file it was
 * writing. The previous checkpoint is untouched (the new one is written beside it and swapped in
 * only when complete).
 */
export class CheckpointWriteError extends Error {
  constructor(
    readonly file: string,
    readonly reason: NodeJS.ErrnoException,
  ) {
    const why = reason.code === 'ENOSPC' ? 'no space left on the device' : reason.code === 'EDQUOT' ? 'disk quota exceeded' : reason.message;
    super(`cannot write checkpoint file ${file}: ${why}${reason.code ? ` (${reason.code})` : ''}`);
    this.name = 'CheckpointWriteError';
  }
}

interface ModelJson {
  format: string;
  version: number;
  modelOptions: ModelOptions;
  meta: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function entries(m: TensorMapLike | undefined): [string, tf.Tensor][] {
  if (!m) return [];
  if (m instanceof Map) return [...m];
  if (Array.isArray(m)) return m.map((n) => [n.name, n.tensor]);
  return Object.entries(m);
}

/** Optimizer state names embed the model's unique variable names (`acnn3/conv1_1/kernel/momentum`); store them by our names. */
function portableName(name: string, byFullName: Map<string, string>): string {
  for (let i = name.length; i > 0; i = name.lastIndexOf('/', i - 1)) {
    const clean = byFullName.get(name.slice(0, i));
    if (clean !== undefined) return `${clean}${name.slice(i)}`;
    if (i === 0) break;
  }
  return name;
}

function instanceName(name: string, byClean: Map<string, tf.Variable>): string {
  for (let i = name.length; i > 0; i = name.lastIndexOf('/', i - 1)) {
    const v = byClean.get(name.slice(0, i));
    if (v) return `${v.name}${name.slice(i)}`;
    if (i === 0) break;
  }
  return name;
}

export async function saveCheckpoint(dir: string, model: AcnnModel, opts: SaveOptions = {}): Promise<void> {
  const vars = model.namedVariables();
  const byFullName = new Map([...vars].map(([clean, v]) => [v.name, clean]));
  const named: tf.NamedTensorMap = {};
  for (const [name, v] of vars) named[`model/${name}`] = v;
  for (const [name, t] of entries(opts.optimizer)) named[`optimizer/${portableName(name, byFullName)}`] = t;
  const { data, specs } = await tf.io.encodeWeights(named);
  const json: ModelJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    modelOptions: model.options,
    meta: opts.meta ?? {},
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
  };
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  await fs.mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${abs}.tmp-${tag}`;
  const old = `${abs}.old-${tag}`;
  // The file being written, for the message when the file system refuses it.
  let writing = tmp;
  try {
    await fs.mkdir(tmp);
    writing = path.join(tmp, WEIGHTS_BIN);
    await writeFileSynced(writing, new Uint8Array(data));
    writing = path.join(tmp, MODEL_JSON);
    await writeFileSynced(writing, JSON.stringify(json, null, 1) + '\n');
    writing = tmp;
    await fsyncPath(tmp);
    // rename() cannot replace a non-empty directory: move the old one aside first.
    let hadOld = false;
    try {
      await fs.rename(abs, old);
      hadOld = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    writing = abs;
    await fs.rename(tmp, abs);
    await fsyncPath(parent);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (typeof (err as NodeJS.ErrnoException).code === 'string') throw new CheckpointWriteError(writing, err as NodeJS.ErrnoException);
    throw err;
  }
}

async function readModelJson(dir: string): Promise<ModelJson> {
  const file = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(`checkpoint ${file} does not exist`);
    throw err;
  }
  let json: ModelJson;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (json?.format !== CHECKPOINT_FORMAT || !Array.isArray(json.weightsManifest) || !json.modelOptions) {
    throw new CheckpointError(`checkpoint ${file} is not an acnn checkpoint (format '${json?.format}')`);
  }
  return json;
}

/**
 * The options a checkpoint was saved with (to build a matching model before loading), less the
 * execution plan: that belongs to the backend that saved it, and the reader's backend picks its own.
 */
export async function readCheckpointOptions(dir: string): Promise<ModelOptions> {
  const { crop: _crop, pgUnits: _pgUnits, ...options } = (await readModelJson(dir)).modelOptions;
  return options;
}

const SHAPE_KEYS = ['backbone', 'variant', 'inputSize', 'width', 'numClasses'] as const;

export async function loadCheckpoint(dir: string, model: AcnnModel): Promise<LoadedCheckpoint> {
  const json = await readModelJson(dir);
  const jsonFile = path.join(dir, MODEL_JSON);
  const diff = SHAPE_KEYS.filter((k) => json.modelOptions[k] !== model.options[k]);
  if (diff.length) {
    throw new CheckpointError(
      `checkpoint ${jsonFile} was saved for a different model: ${diff.map((k) => `${k} ${json.modelOptions[k]} (model: ${model.options[k]})`).join(', ')}`,
    );
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = path.join(dir, p);
      try {
        buffers.push(await fs.readFile(file));
      } catch (err) {
        throw new CheckpointError(`checkpoint weights ${file} cannot be read: ${(err as Error).message}`);
      }
    }
    specs.push(...group.weights);
  }
  const binFile = path.join(dir, json.weightsManifest.flatMap((g) => g.paths).join(', '));
  const total = buffers.reduce((a, b) => a + b.length, 0);
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  let expected = 0;
  for (const s of specs) {
    const per = bytesPer[s.dtype];
    if (!per) throw new CheckpointError(`checkpoint ${jsonFile}: tensor '${s.name}' has unsupported dtype ${s.dtype}`);
    expected += per * s.shape.reduce((a, b) => a * b, 1);
  }
  if (expected !== total) {
    throw new CheckpointError(`checkpoint ${binFile} holds ${total} bytes, its manifest ${jsonFile} needs ${expected} (truncated or corrupt)`);
  }
  const buf = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    buf.set(b, off);
    off += b.length;
  }
  const decoded = tf.io.decodeWeights(buf.buffer, specs);
  try {
    const vars = model.namedVariables();
    for (const [name, v] of vars) {
      const t = decoded[`model/${name}`];
      if (!t) throw new CheckpointError(`checkpoint ${binFile}: tensor 'model/${name}' is missing`);
      if (t.shape.join(',') !== v.shape.join(',')) {
        throw new CheckpointError(`checkpoint ${binFile}: tensor 'model/${name}' has shape [${t.shape}], the model needs [${v.shape}]`);
      }
      const vals = t.dataSync();
      for (let i = 0; i < vals.length; i++) {
        if (!Number.isFinite(vals[i])) throw new CheckpointError(`checkpoint ${binFile}: tensor 'model/${name}' holds a non-finite value at index ${i}`);
      }
    }
    const extra = Object.keys(decoded).filter((k) => k.startsWith('model/') && !vars.has(k.slice(6)));
    if (extra.length) throw new CheckpointError(`checkpoint ${binFile}: tensor '${extra[0]}' does not belong to this model${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''}`);
    for (const [name, v] of vars) v.assign(decoded[`model/${name}`]);
    const optimizer: NamedTensor[] = [];
    for (const [k, t] of Object.entries(decoded)) {
      if (k.startsWith('optimizer/')) optimizer.push({ name: instanceName(k.slice(10), vars), tensor: t });
    }
    for (const [k, t] of Object.entries(decoded)) if (!k.startsWith('optimizer/')) t.dispose();
    return { optimizer, meta: json.meta ?? {}, options: json.modelOptions };
  } catch (err) {
    tf.dispose(Object.values(decoded));
    throw err;
  }
}
