/**
 * A minimal .safetensors reader: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then raw
 * little-endian data (offsets relative to the end of the header).
 */
import { readFile } from 'node:fs/promises';
import { DTYPE_BYTES, isDtype, toFloat32 } from './dtypes.js';

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** Values converted to float32. */
  data: Float32Array;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): Map<string, SafeTensor> {
  if (buf.length < 8) throw new SafetensorsError(`${file}: too short for a safetensors file (${buf.length} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > buf.length - 8) throw new SafetensorsError(`${file}: header length ${hlen} exceeds the file size`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + hlen)));
  } catch (err) {
    throw new SafetensorsError(`${file}: header is not valid JSON (${(err as Error).message})`);
  }
  const start = 8 + hlen;
  const out = new Map<string, SafeTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isDtype(info.dtype)) throw new SafetensorsError(`${file}: tensor '${name}' has unsupported dtype ${info.dtype}`);
    const size = DTYPE_BYTES[info.dtype];
    const [b, e] = info.data_offsets;
    const n = info.shape.reduce((a, c) => a * c, 1);
    if (e - b !== n * size || start + e > buf.length) {
      throw new SafetensorsError(`${file}: tensor '${name}' data [${b}, ${e}) does not fit shape [${info.shape}] ${info.dtype} or the file`);
    }
    const data = toFloat32(buf.subarray(start + b, start + e), info.dtype, n);
    out.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return out;
}

export async function readSafetensors(file: string): Promise<Map<string, SafeTensor>> {
  return parseSafetensors(await readFile(file), file);
}

/** Writes float32 tensors (used by tests and tools that export weights). */
export function encodeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.length * 4] };
    off += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * 4), p);
    p += t.data.length * 4;
  }
  return out;
}
