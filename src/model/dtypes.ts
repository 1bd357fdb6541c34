/** Element types of weight files (safetensors names) and their conversion to float32. */
export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export function isDtype(s: string): s is Dtype {
  return s in DTYPE_BYTES;
}

/** IEEE half to a JS number. */
export function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const bf16Scratch = new Uint32Array(1);
const bf16View = new Float32Array(bf16Scratch.buffer);
function bf16(h: number): number {
  bf16Scratch[0] = h << 16;
  return bf16View[0];
}

/** Element i of a little-endian buffer of `dtype`, as a number. */
export function readElement(v: DataView, dtype: Dtype, i: number): number {
  switch (dtype) {
    case 'F32': return v.getFloat32(i * 4, true);
    case 'F64': return v.getFloat64(i * 8, true);
    case 'F16': return f16(v.getUint16(i * 2, true));
    case 'BF16': return bf16(v.getUint16(i * 2, true));
    case 'I64': return Number(v.getBigInt64(i * 8, true));
    case 'I32': return v.getInt32(i * 4, true);
    case 'I16': return v.getInt16(i * 2, true);
    case 'I8': return v.getInt8(i);
    default: return v.getUint8(i);
  }
}

/** `count` elements from the start of `bytes` as float32. */
export function toFloat32(bytes: Uint8Array, dtype: Dtype, count: number): Float32Array {
  if (dtype === 'F32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = readElement(v, dtype, i);
  return out;
}
