/**
 * A minimal .safetensors reader: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then raw
 * little-endian data (offsets relative to the end of the header).
 */
import { readFile } from 'node:fs/promises';

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** Values converted to float32. */
  data: Float32Array;
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
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
    const size = BYTES[info.dtype];
    if (!size) throw new SafetensorsError(`${file}: tensor '${name}' has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const n = info.shape.reduce((a, c) => a * c, 1);
    if (e - b !== n * size || start + e > buf.length) {
      throw new SafetensorsError(`${file}: tensor '${name}' data [${b}, ${e}) does not fit shape [${info.shape}] ${info.dtype} or the file`);
    }
    const v = new DataView(buf.buffer, buf.byteOffset + start + b, e - b);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      switch (info.dtype) {
        case 'F32': data[i] = v.getFloat32(i * 4, true); break;
        case 'F64': data[i] = v.getFloat64(i * 8, true); break;
        case 'F16': data[i] = f16(v.getUint16(i * 2, true)); break;
        case 'BF16': data[i] = new Float32Array(new Uint32Array([v.getUint16(i * 2, true) << 16]).buffer)[0]; break;
        case 'I64': data[i] = Number(v.getBigInt64(i * 8, true)); break;
        case 'I32': data[i] = v.getInt32(i * 4, true); break;
        case 'I16': data[i] = v.getInt16(i * 2, true); break;
        case 'I8': data[i] = v.getInt8(i); break;
        default: data[i] = v.getUint8(i);
      }
    }
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
