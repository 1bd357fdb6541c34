/**
 * PyTorch checkpoints (.pth / .pt) read natively, in both formats torch.save has written:
 *
 * - zip (torch >= 1.6): an archive `<name>/data.pkl` (the pickle, storages as persistent ids
 *   ('storage', <type>, key, location, numel)) with one raw little-endian entry per storage,
 *   `<name>/data/<key>`. Read with yauzl, one entry at a time.
 * - legacy (torch < 1.6, e.g. torchvision's 2017 vgg16_bn-6c64b313.pth): five pickles in a row
 *   (magic number, protocol version, sys info, the object, the sorted storage keys), then per
 *   key an int64 element count and the raw storage.
 *
 * The pickles go through the restricted unpickler (torch-pickle.ts): a checkpoint cannot run code.
 */
import { promises as fs } from 'node:fs';
import yauzl from 'yauzl';
import { DTYPE_BYTES, readElement, toFloat32 } from './dtypes.js';
import type { SafeTensor } from './safetensors.js';
import { PickleError, storageFromPid, unpickle, type StorageRef, type TensorRef } from './torch-pickle.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export type TorchFormat = 'zip' | 'legacy';

/** Which torch.save format a file's first bytes announce, or null when it is neither. */
export function torchFormatOf(head: Uint8Array): TorchFormat | null {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'legacy';
  return null;
}

/** Reads a .pth state dict: tensor name -> float32 values. */
export async function readTorchCheckpoint(file: string): Promise<Map<string, SafeTensor>> {
  const head = await readHead(file, 8);
  const format = torchFormatOf(head);
  if (format === 'zip') return readZip(file);
  if (format === 'legacy') return readLegacy(await fs.readFile(file), file);
  throw new PickleError(file, 'neither the zip format of torch >= 1.6 nor the legacy pickle format');
}

export async function readHead(file: string, n: number): Promise<Uint8Array> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Storages met while unpickling, by key (a key seen twice must agree with itself). */
function storageCollector(file: string) {
  const storages = new Map<string, StorageRef>();
  const load = (pid: unknown) => {
    const ref = storageFromPid(pid, file);
    const seen = storages.get(ref.key);
    if (seen && seen.dtype !== ref.dtype) throw new PickleError(file, `storage ${ref.key} appears with two element types`);
    if (!seen) storages.set(ref.key, { ...ref, view: undefined });
    return ref;
  };
  return { storages, load };
}

/** The state dict inside what was pickled: the object itself, or its `state_dict` / `model` entry. */
function stateDictOf(value: unknown, file: string): Map<string, TensorRef> {
  let v = value;
  if (v instanceof Map && !isTensorMap(v)) {
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const inner = v.get(key);
      if (inner instanceof Map && isTensorMap(inner)) {
        v = inner;
        break;
      }
    }
  }
  if (!(v instanceof Map) || !isTensorMap(v)) {
    throw new PickleError(file, 'the pickle holds no state dict (a dict of tensor name -> tensor)');
  }
  return v as Map<string, TensorRef>;
}

function isTensorMap(m: Map<unknown, unknown>): boolean {
  let tensors = 0;
  for (const [k, t] of m) {
    if (typeof k !== 'string') return false;
    if ((t as TensorRef | null)?.kind === 'tensor') tensors++;
  }
  return tensors > 0;
}

/** A tensor's values from its storage bytes, following offset and strides. */
function materialise(t: TensorRef, storage: Uint8Array, file: string, name: string): SafeTensor {
  const { dtype } = t.storage;
  const numelStorage = Math.floor(storage.byteLength / DTYPE_BYTES[dtype]);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31) throw new PickleError(file, `tensor '${name}' has an impossible size [${t.shape}]`);
  const base = t.offset + (t.storage.view?.offset ?? 0);
  let last = base;
  for (let d = 0; d < t.shape.length; d++) last += Math.max(0, t.shape[d] - 1) * t.stride[d];
  if (n > 0 && (base < 0 || last >= numelStorage || t.stride.some((s) => s < 0))) {
    throw new PickleError(file, `tensor '${name}' [${t.shape}] reaches past its storage of ${numelStorage} elements`);
  }
  const contiguous = t.stride.every((s, d) => s === t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const size = DTYPE_BYTES[dtype];
  if (contiguous) return { dtype, shape: t.shape, data: toFloat32(storage.subarray(base * size, (base + n) * size), dtype, n) };
  const v = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  const data = new Float32Array(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = base;
    for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d];
    data[i] = readElement(v, dtype, off);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return { dtype, shape: t.shape, data };
}

function materialiseAll(dict: Map<string, TensorRef>, bytesOf: Map<string, Uint8Array>, file: string): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of dict) {
    if (t?.kind !== 'tensor') continue;
    const bytes = bytesOf.get(t.storage.key);
    if (!bytes) throw new PickleError(file, `storage ${t.storage.key} of tensor '${name}' is missing`);
    out.set(name, materialise(t, bytes, file, name));
  }
  return out;
}

export function readLegacy(buf: Uint8Array, file: string): Map<string, SafeTensor> {
  const magic = unpickle(buf, file);
  if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) throw new PickleError(file, 'no PyTorch magic number at the start');
  const proto = unpickle(buf, file, undefined, magic.end);
  if (proto.value !== LEGACY_PROTOCOL) throw new PickleError(file, `legacy protocol ${String(proto.value)}, expected ${LEGACY_PROTOCOL}`);
  const info = unpickle(buf, file, undefined, proto.end);
  if (info.value instanceof Map && info.value.get('little_endian') === false) throw new PickleError(file, 'saved on a big-endian machine; not supported');
  const { storages, load } = storageCollector(file);
  const obj = unpickle(buf, file, load, info.end);
  const keys = unpickle(buf, file, undefined, obj.end);
  if (!Array.isArray(keys.value)) throw new PickleError(file, 'no storage key list after the object');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bytesOf = new Map<string, Uint8Array>();
  let p = keys.end;
  for (const key of keys.value as unknown[]) {
    const ref = storages.get(String(key));
    if (!ref) throw new PickleError(file, `storage ${String(key)} is listed but no tensor uses it`);
    if (p + 8 > buf.length) throw new PickleError(file, `truncated before storage ${ref.key}`);
    const numel = Number(dv.getBigInt64(p, true));
    const len = numel * DTYPE_BYTES[ref.dtype];
    p += 8;
    if (numel < 0 || p + len > buf.length) throw new PickleError(file, `storage ${ref.key} (${numel} elements) is truncated`);
    bytesOf.set(ref.key, buf.subarray(p, p + len));
    p += len;
  }
  return materialiseAll(stateDictOf(obj.value, file), bytesOf, file);
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip))));
}

function zipEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const out = new Map<string, yauzl.Entry>();
    zip.on('entry', (e: yauzl.Entry) => {
      out.set(e.fileName, e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(out));
    zip.on('error', reject);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
    });
  });
}

async function readZip(file: string): Promise<Map<string, SafeTensor>> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (err) {
    throw new PickleError(file, `unreadable zip archive (${(err as Error).message})`);
  }
  try {
    const entries = await zipEntries(zip);
    const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw new PickleError(file, 'a zip archive without <name>/data.pkl');
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const order = entries.get(`${prefix}byteorder`);
    if (order && (await readEntry(zip, order)).toString().trim() === 'big') throw new PickleError(file, 'saved big-endian; not supported');
    const { storages, load } = storageCollector(file);
    const obj = unpickle(await readEntry(zip, entries.get(pkl)!), file, load);
    const dict = stateDictOf(obj.value, file);
    const bytesOf = new Map<string, Uint8Array>();
    for (const ref of storages.values()) {
      const entry = entries.get(`${prefix}data/${ref.key}`);
      if (!entry) throw new PickleError(file, `storage entry ${prefix}data/${ref.key} is missing from the archive`);
      bytesOf.set(ref.key, await readEntry(zip, entry));
    }
    return materialiseAll(dict, bytesOf, file);
  } catch (err) {
    if (err instanceof PickleError || (err as Error).name === 'UnsafePickleError') throw err;
    throw new PickleError(file, (err as Error).message);
  } finally {
    zip.close();
  }
}
