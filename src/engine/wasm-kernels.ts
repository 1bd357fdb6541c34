/**
 * Replacement kernels for the WebAssembly backend (tfjs-backend-wasm 4.22), registered by
 * `registerWasmKernels()` (initBackend calls it before switching to wasm).
 *
 * - Conv2DBackpropFilter: missing upstream, so any conv net fails to train. Built as a
 *   forward conv over transposed tensors, which runs on XNNPACK.
 * - Conv2DBackpropInput: upstream is a scalar C++ loop (~10x the forward conv). Built as a
 *   forward conv of the stride-dilated dy with the flipped, transposed filter, which runs
 *   on XNNPACK.
 * - MaxPoolGrad: upstream sends the gradient of an all-negative window to its first element.
 *   Rewritten as a JS loop over the wasm heap with the JS backend's rule (first maximum wins).
 * - UnsortedSegmentSum (gather's gradient): missing upstream. A JS loop over the wasm heap,
 *   O(size of x), so a patch crop's gradient costs no more than the crop.
 * - Tile: upstream is a per-element loop; rewritten as block copies (see tileKernel).
 * - Sum, Mean: upstream transposes the tensor so that the reduced axes are innermost. A
 *   reduction over a block of R > REDUCE_MATMUL_MIN_R axes with C > 1 values inside it is a
 *   matrix-vector product instead: x as [A, R, C], times ones [A, R, 1] (transposeA).
 * - BatchMatMul with transposeA and a right operand wider than one column (the FC weight
 *   gradient x^T dy): upstream is 3-10x slower than an explicit transpose and a plain matmul.
 *   With transposeB and a short left operand (the FC input gradient dy W^T, M = batch rows):
 *   upstream is ~4x slower than (W dy^T)^T, whose transposes are of the small operands.
 *
 * - Identity: upstream copies the data; the engine clones every tensor it saves for the
 *   backward pass (thousands per training step), so a clone shares the data and bumps its
 *   reference count instead, as Reshape does (no kernel writes into its inputs). Cast to the
 *   tensor's own dtype (ReLU's gradient casts a float mask to float) likewise.
 *
 * - Slice: upstream reads its input through readSync, which copies the whole tensor out of the
 *   heap for every slice (the 24 PG-units slice their patches from one crop). Block copies
 *   straight from a heap view instead.
 *
 * Known upstream bug (tfjs-backend-wasm 4.22): BatchMatMul caches the packed right operand by
 * data id, and a reshape shares its input's data id, so two reshapes of one tensor used as the
 * right operand with different shapes give stale results. The kernels here only ever pass a
 * fresh tensor (ones) or the caller's own right operand as `b`.
 *
 * The conv kernels call tf ops inside a kernel: the engine does not record nested kernels on
 * the gradient tape (kernelDepth > 0), and each kernel body runs in tf.tidy so only its
 * output survives.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Record<string, tf.TensorInfo>; attrs?: Attrs; backend: unknown };
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

const BACKEND = 'wasm';

/** The stock wasm kernels this module replaces, kept so benchmarks can compare against them. */
const stock = new Map<string, tf.KernelConfig>();
export function stockWasmKernel(name: string): tf.KernelConfig | undefined {
  return stock.get(name);
}
export const REPLACED_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'UnsortedSegmentSum', 'Tile', 'Sum', 'Mean', 'BatchMatMul', 'Identity', 'Cast', 'Slice', 'SplitV', 'Unpack', 'Transpose'] as const;

function runStock(name: string, args: KernelArgs): tf.TensorInfo {
  return stock.get(name)!.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

function asTensor<T extends tf.Tensor>(info: tf.TensorInfo): T {
  // Inputs are usually Tensors already; a bare TensorInfo (from another kernel) gets a
  // tracked wrapper that the surrounding tidy releases.
  return (info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info)) as T;
}

function toNhwc(t: tf.Tensor4D, dataFormat: unknown): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

/** Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let t = x;
  const cropT = Math.max(0, -top), cropB = Math.max(0, -bottom), cropL = Math.max(0, -left), cropR = Math.max(0, -right);
  if (cropT || cropB || cropL || cropR) {
    const [n, h, w, c] = t.shape;
    t = tf.slice(t, [0, cropT, cropL, 0], [n, h - cropT - cropB, w - cropL - cropR, c]);
  }
  const pT = Math.max(0, top), pB = Math.max(0, bottom), pL = Math.max(0, left), pR = Math.max(0, right);
  if (pT || pB || pL || pR) t = tf.pad(t, [[0, 0], [pT, pB], [pL, pR], [0, 0]]);
  return t;
}

/**
 * dW[a,b,ci,co] = sum over n,i,j of xPadded[n, i*sh + a, j*sw + b, ci] * dy[n,i,j,co]. Read with
 * ci as the batch axis, n as the channel axis and dy as an [Ho,Wo,N,Co] filter, that is a
 * forward conv with dilation = stride whose [Ci,kh,kw,Co] output is dW up to a transpose.
 * XNNPACK runs it as one GEMM with the long N*Ho*Wo axis as the reduction; an im2col matMul
 * measured 10-20x slower here because wasm's transposeA path and large transposes are slow.
 */
export function conv2DBackpropFilterImpl(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  if (dy.shape[1] !== ho || dy.shape[2] !== wo || dy.shape[3] !== co) {
    throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match the conv output [${n},${ho},${wo},${co}]`);
  }
  // Exactly the rows/columns the windows touch, so the transposed conv's output is kh x kw.
  const needH = (ho - 1) * sh + kh;
  const needW = (wo - 1) * sw + kw;
  const xp = padOrCrop(x, top, needH - h - top, left, needW - w - left);
  const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const r = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sh, sw]);
  return tf.transpose(r, [1, 2, 0, 3]);
}

/** Inserts s-1 zeros after every row/column of dy: the stride-1 equivalent of a strided conv's output. */
function dilateSpatial(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, , , c] = dy.shape;
  let [, h, w] = dy.shape;
  let t: tf.Tensor = dy;
  if (sh > 1) {
    t = tf.pad(tf.reshape(t, [n * h, 1, w * c]), [[0, 0], [0, sh - 1], [0, 0]]);
    h *= sh;
  }
  if (sw > 1) {
    t = tf.pad(tf.reshape(t, [n * h * w, 1, c]), [[0, 0], [0, sw - 1], [0, 0]]);
    w *= sw;
  }
  return tf.reshape(t, [n, h, w, c]);
}

/**
 * dx[y] = sum over a of dyDilated[y + top - a] * W[a]: a stride-1 correlation of the dilated dy
 * with the spatially flipped filter (channels swapped), padded kh-1-top before.
 */
export function conv2DBackpropInputImpl(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && ho === h && wo === w) {
    return tf.reshape(tf.matMul(tf.reshape(dy, [-1, co]), tf.reshape(filter, [ci, co]), false, true), inputShape);
  }
  const dyd = dilateSpatial(dy, sh, sw);
  const wf = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const beforeH = kh - 1 - top, afterH = h + top - ho * sh;
  const beforeW = kw - 1 - left, afterW = w + left - wo * sw;
  // Negative amounts are crops; conv2d's explicit padding takes only the positive part.
  const cropped = padOrCrop(dyd, Math.min(0, beforeH), Math.min(0, afterH), Math.min(0, beforeW), Math.min(0, afterW));
  const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [Math.max(0, beforeH), Math.max(0, afterH)], [Math.max(0, beforeW), Math.max(0, afterW)], [0, 0]];
  return tf.conv2d(cropped, wf, 1, explicit);
}

function conv2DBackpropFilterKernel({ inputs, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as { strides: number | [number, number]; pad: Pad; dataFormat?: string; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
  return tf.tidy(() => {
    const x = toNhwc(asTensor<tf.Tensor4D>(inputs.x!), a.dataFormat);
    const dy = toNhwc(asTensor<tf.Tensor4D>(inputs.dy!), a.dataFormat);
    return conv2DBackpropFilterImpl(x, dy, a.filterShape, a.strides, a.pad, a.dimRoundingMode);
  });
}

function conv2DBackpropInputKernel({ inputs, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as { strides: number | [number, number]; pad: Pad; dataFormat?: string; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number] };
  return tf.tidy(() => {
    const nchw = a.dataFormat === 'NCHW';
    const dy = toNhwc(asTensor<tf.Tensor4D>(inputs.dy!), a.dataFormat);
    const s = a.inputShape;
    const shape: [number, number, number, number] = nchw ? [s[0], s[2], s[3], s[1]] : s;
    const dx = conv2DBackpropInputImpl(dy, asTensor<tf.Tensor4D>(inputs.filter!), shape, a.strides, a.pad, a.dimRoundingMode);
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

/** Same positions as the JS backend's maxPoolPositions: the first strict maximum of each window. */
function maxPoolGradKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const dxInfo = wasm.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput: an allocation may grow (and detach) the wasm heap.
  const xv = wasm.typedArrayFromHeap(input) as Float32Array;
  const dyv = wasm.typedArrayFromHeap(dy) as Float32Array;
  const dx = wasm.typedArrayFromHeap(dxInfo) as Float32Array;
  dx.fill(0);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const maxVal = new Float32Array(c);
  const maxPos = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    const xBase = b * inHeight * inWidth * c;
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - top;
      const rMin = Math.max(0, r0), rMax = Math.min(inHeight, r0 + fh);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - left;
        const cMin = Math.max(0, c0), cMax = Math.min(inWidth, c0 + fw);
        maxVal.fill(-Infinity);
        maxPos.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let col = cMin; col < cMax; col++) {
            const base = xBase + (r * inWidth + col) * c;
            for (let d = 0; d < c; d++) {
              const v = xv[base + d]!;
              if (v > maxVal[d]!) {
                maxVal[d] = v;
                maxPos[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + yr) * outWidth + yc) * c;
        for (let d = 0; d < c; d++) {
          const p = maxPos[d]!;
          if (p >= 0) dx[p] = dx[p]! + dyv[dyBase + d]!;
        }
      }
    }
  }
  return dxInfo;
}

/** out[segmentIds[i], ...] += x[i, ...]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
function unsortedSegmentSumKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const idsRank = segmentIds.shape.length;
  const rowShape = x.shape.slice(idsRank);
  const row = rowShape.reduce((p, q) => p * q, 1);
  const outInfo = wasm.makeOutput([numSegments, ...rowShape], x.dtype);
  const out = wasm.typedArrayFromHeap(outInfo) as Float32Array | Int32Array;
  const xv = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array | Float32Array;
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * row, dst = s * row;
    for (let j = 0; j < row; j++) out[dst + j] = out[dst + j]! + xv[src + j]!;
  }
  return outInfo;
}

/**
 * Tile as block copies on the wasm heap: each axis's finished block is repeated with
 * copyWithin (memcpy speed). Upstream is a per-element index loop, and batchNorm's gradient
 * tiles [C] statistics up to the full activation several times per step.
 */
function tileKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const x = inputs.x!;
  const reps = (attrs as { reps: number[] }).reps;
  const xs = x.shape;
  const rank = xs.length;
  const os = xs.map((d, i) => d * reps[i]!);
  const outInfo = wasm.makeOutput(os, x.dtype);
  const out = wasm.typedArrayFromHeap(outInfo);
  const src = wasm.typedArrayFromHeap(x);
  if (rank === 0) {
    out.set(src);
    return outInfo;
  }
  const xInner = new Array<number>(rank), oInner = new Array<number>(rank);
  xInner[rank - 1] = 1;
  oInner[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) {
    xInner[i] = xInner[i + 1]! * xs[i + 1]!;
    oInner[i] = oInner[i + 1]! * os[i + 1]!;
  }
  const fill = (axis: number, s: number, d: number): void => {
    const n = xs[axis]!;
    if (axis === rank - 1) out.set(src.subarray(s, s + n), d);
    else for (let j = 0; j < n; j++) fill(axis + 1, s + j * xInner[axis]!, d + j * oInner[axis]!);
    const block = n * oInner[axis]!;
    for (let r = 1; r < reps[axis]!; r++) out.copyWithin(d + r * block, d, d + block);
  };
  if (out.length > 0) fill(0, 0, 0);
  return outInfo;
}

/**
 * Below this many reduced elements per output the stock reduction wins (measured, [1,3136,64]:
 * stock 0.23 ms, matmul 0.46 ms; [1,12544,32]: 0.53 vs 0.34; [1,200704,16]: 11.2 vs 2.5).
 */
export const REDUCE_MATMUL_MIN_R = 4096;

/** x viewed as [A, R, C] with the reduced axes as R, or null when the axes are not one block. */
function reductionBlock(shape: number[], axis: number | number[]): { A: number; R: number; C: number; axes: number[] } | null {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1]! + 1) return null;
  const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);
  return { A: prod(shape.slice(0, axes[0])), R: prod(shape.slice(axes[0], axes[axes.length - 1]! + 1)), C: prod(shape.slice(axes[axes.length - 1]! + 1)), axes };
}

function reduceKernel(kind: 'Sum' | 'Mean') {
  return (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs.x!;
    const a = args.attrs as { axis: number | number[]; keepDims: boolean };
    const blk = x.dtype === 'float32' ? reductionBlock(x.shape, a.axis) : null;
    if (!blk || blk.C === 1 || blk.R < REDUCE_MATMUL_MIN_R) return runStock(kind, args);
    const { A, R, C, axes } = blk;
    const outShape = a.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return tf.tidy(() => {
      const x3 = tf.reshape(asTensor(x), [A, R, C]);
      // The stock kernel: it is fast for a one-column right operand (a matrix-vector product).
      const prod = tf.engine().makeTensorFromTensorInfo(
        runStock('BatchMatMul', { inputs: { a: x3, b: tf.ones([A, R, 1]) }, attrs: { transposeA: true, transposeB: false }, backend: args.backend }),
      );
      const y = tf.reshape(prod, outShape);
      return kind === 'Mean' ? tf.div(y, R) : y;
    });
  };
}

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * Upstream sends everything but an untransposed product of batch 1 to a scalar C++ loop
 * (batch_mat_mul_impl.cc's slow_batch_matmul); only that one case runs on XNNPACK.
 * - Batched products ([G, M, K] x [G, K, N], G > 1: the grouped PG-units' convolutions and FCs
 *   and their gradients): one XNNPACK product per batch entry on heap slices, transposes made
 *   explicit first.
 * - transposeA with a right operand of more than one column: transpose a explicitly (measured
 *   3-10x faster). transposeB with M <= K (a has fewer rows than columns): a b^T = (b a^T)^T, so
 *   only a and the [N, M] result are transposed (dy W^T at batch 16: 3.5 ms instead of 13.8).
 */
function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const at = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return runStock('BatchMatMul', args);
  const mm = (x: tf.Tensor, y: tf.Tensor) =>
    tf.engine().makeTensorFromTensorInfo(runStock('BatchMatMul', { inputs: { a: x, b: y }, attrs: { transposeA: false, transposeB: false }, backend: args.backend }));
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA > 1 || batchB > 1) {
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return runStock('BatchMatMul', args);
    return batchedMatMul(asTensor(a), asTensor(b), (batchA > 1 ? a : b).shape.slice(0, -2), at, mm);
  }
  if (at.transposeA && at.transposeB) return runStock('BatchMatMul', args);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = at.transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  if (at.transposeA && n > 1) {
    return tf.tidy(() => {
      const ta = asTensor(a);
      return mm(tf.transpose(ta, swapLast(ta.rank)), asTensor(b));
    });
  }
  if (at.transposeB && m <= k && a.shape.length === 2 && b.shape.length === 2) {
    return tf.tidy(() => {
      const ta = asTensor(a);
      // b stays the left operand and a fresh transpose the right one (see the caching bug above).
      return tf.transpose(mm(asTensor(b), tf.transpose(ta)));
    });
  }
  return runStock('BatchMatMul', args);
}

/**
 * G products of batch 1 on XNNPACK. Every right operand is a fresh slice (its own data id), so
 * upstream's operator cache, keyed by the right operand's id, never serves stale weights; the
 * cached operators go with the slices when the tidy disposes them.
 */
function batchedMatMul(a: tf.Tensor, b: tf.Tensor, outBatch: number[], at: { transposeA: boolean; transposeB: boolean }, mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const G = tf.util.sizeFromShape(outBatch);
    const a3 = a.reshape([-1, a.shape.at(-2)!, a.shape.at(-1)!]);
    const b3 = b.reshape([-1, b.shape.at(-2)!, b.shape.at(-1)!]);
    const ta = at.transposeA ? tf.transpose(a3, [0, 2, 1]) : a3;
    const tb = at.transposeB ? tf.transpose(b3, [0, 2, 1]) : b3;
    const [, M, K] = ta.shape as [number, number, number];
    const N = tb.shape[2]!;
    const outs: tf.Tensor[] = [];
    for (let g = 0; g < G; g++) {
      const ag = ta.shape[0] === 1 ? ta : tf.slice(ta, [g, 0, 0], [1, M, K]);
      // A fresh tensor even for a broadcast b: see the caching note above.
      const bg = tf.slice(tb, [tb.shape[0] === 1 ? 0 : g, 0, 0], [1, K, N]);
      outs.push(mm(ag, bg));
    }
    return tf.concat(outs, 0).reshape([...outBatch, M, N]);
  });
}

function identityKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return runStock('Identity', args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function castKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string' || x.dtype !== (args.attrs as { dtype: string }).dtype) return runStock('Cast', args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function sliceKernel(args: KernelArgs): tf.TensorInfo {
  const wasm = args.backend as BackendWasm;
  const x = args.inputs.x!;
  if (x.dtype === 'string') return runStock('Slice', args);
  const a = args.attrs as { begin: number | number[]; size?: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, a.begin, a.size);
  const outInfo = wasm.makeOutput(size, x.dtype);
  // Views after makeOutput: an allocation may grow (and detach) the heap.
  const src = wasm.typedArrayFromHeap(x);
  const dst = wasm.typedArrayFromHeap(outInfo);
  const rank = x.shape.length;
  if (dst.length === 0) return outInfo;
  if (rank === 0) {
    dst.set(src);
    return outInfo;
  }
  const strides = tf.util.computeStrides(x.shape);
  // Axes from `inner` on are taken whole: each run of prod(size[inner-1..]) elements is contiguous.
  let inner = rank;
  while (inner > 1 && size[inner - 1] === x.shape[inner - 1]) inner--;
  const run = size.slice(inner - 1).reduce((p, q) => p * q, 1);
  const stride = (i: number) => (i < rank - 1 ? strides[i]! : 1);
  let o = 0;
  const copy = (axis: number, offset: number): void => {
    if (axis === inner - 1) {
      const from = offset + begin[axis]! * stride(axis);
      dst.set(src.subarray(from, from + run), o);
      o += run;
      return;
    }
    for (let i = 0; i < size[axis]!; i++) copy(axis + 1, offset + (begin[axis]! + i) * stride(axis));
  };
  copy(0, 0);
  return outInfo;
}

/**
 * Transpose: upstream moves one element at a time through a generic index computation, 35-90
 * million floats a second here ([24,1152,128] last two axes swapped: 102 ms; the conv filter
 * gradient's [16,112,112,16] -> channels first: 39 ms). Here: axes that stay neighbours are
 * merged first, then the copy runs in 32 x 32 tiles of the output's last axis and the axis that
 * holds the input's last one, so both sides stay in cache.
 */
function transposeKernel(args: KernelArgs): tf.TensorInfo {
  const wasm = args.backend as BackendWasm;
  const x = args.inputs.x!;
  if (x.dtype === 'string' || x.dtype === 'complex64') return runStock('Transpose', args);
  const perm = (args.attrs as { perm: number[] }).perm;
  const outShape = perm.map((a) => x.shape[a]!);
  const outInfo = wasm.makeOutput(outShape, x.dtype);
  // Views after makeOutput: an allocation may grow (and detach) the heap.
  const src = wasm.typedArrayFromHeap(x);
  const dst = wasm.typedArrayFromHeap(outInfo);
  if (dst.length > 0) transposeInto(src, dst, x.shape, perm);
  return outInfo;
}

/** Merges input axes that stay adjacent and in order under `perm`; drops axes of size 1. */
function collapseAxes(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((a) => shape[a] !== 1);
  const groups: number[][] = [];
  for (const a of keep) {
    const last = groups.at(-1);
    if (last && last.at(-1)! + 1 === a) last.push(a);
    else groups.push([a]);
  }
  // Number the groups in input order.
  const order = [...groups].sort((g, h) => g[0]! - h[0]!);
  const cshape = order.map((g) => g.reduce((p, a) => p * shape[a]!, 1));
  return { shape: cshape, perm: groups.map((g) => order.indexOf(g)) };
}

type Numeric = Float32Array | Int32Array | Uint8Array;

export function transposeInto(src: Numeric, dst: Numeric, shape: number[], perm: number[]): void {
  const c = collapseAxes(shape, perm);
  const r = c.shape.length;
  if (r <= 1 || c.perm.every((a, i) => a === i)) {
    dst.set(src);
    return;
  }
  const inStrides = tf.util.computeStrides(c.shape).concat(1);
  const os = c.perm.map((a) => c.shape[a]!);
  const outStrides = tf.util.computeStrides(os).concat(1);
  const A = r - 1; // the output's last axis
  const sa = inStrides[c.perm[A]!]!;
  const q = c.perm.indexOf(r - 1); // the output axis holding the input's last axis
  const oq = outStrides[q]!;
  const nA = os[A]!;
  // The input's last axis is the output's last too: contiguous runs of nA.
  const runs = q === A;
  const nQ = runs ? 1 : os[q]!;
  const others = os.map((_, j) => j).filter((j) => j !== A && (runs || j !== q));
  const idx = new Array<number>(others.length).fill(0);
  const inS = others.map((j) => inStrides[c.perm[j]!]!);
  const outS = others.map((j) => outStrides[j]!);
  for (;;) {
    let inOff = 0;
    let outOff = 0;
    for (let k = 0; k < others.length; k++) {
      inOff += idx[k]! * inS[k]!;
      outOff += idx[k]! * outS[k]!;
    }
    if (runs) dst.set(src.subarray(inOff, inOff + nA), outOff);
    else copyTiles(src, dst, inOff, outOff, nQ, nA, sa, oq);
    // Next combination of the other output axes (odometer, last fastest).
    let k = others.length - 1;
    while (k >= 0 && ++idx[k]! === os[others[k]!]!) idx[k--] = 0;
    if (k < 0) break;
  }
}

/** dst[outOff + i*oq + k] = src[inOff + i + k*sa] for i < nQ, k < nA, in 32 x 32 tiles. */
function copyTiles(src: Numeric, dst: Numeric, inOff: number, outOff: number, nQ: number, nA: number, sa: number, oq: number): void {
  const T = 32;
  for (let i0 = 0; i0 < nQ; i0 += T) {
    const i1 = Math.min(i0 + T, nQ);
    for (let k0 = 0; k0 < nA; k0 += T) {
      const k1 = Math.min(k0 + T, nA);
      for (let i = i0; i < i1; i++) {
        let si = inOff + i + k0 * sa;
        let di = outOff + i * oq + k0;
        for (let k = k0; k < k1; k++) {
          dst[di++] = src[si]!;
          si += sa;
        }
      }
    }
  }
}

/**
 * SplitV (Concat's gradient) and Unpack (Stack's gradient): upstream cuts each piece with its
 * own Slice, each of which copies the whole input out of the heap (see Slice above): a stack
 * of the 24 PG-units' kernels has 24 pieces. The same cuts through sliceKernel's block copies.
 */
function splitVKernel(args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs.x!;
  const a = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
  const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, a.numOrSizeSplits, axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const piece = sliceKernel({ inputs: { x }, attrs: { begin: [...begin], size }, backend: args.backend });
    begin[axis]! += s;
    return piece;
  });
}

function unpackKernel(args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs.value!;
  const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, x.shape)[0]!;
  const n = x.shape[axis]!;
  const outShape = x.shape.filter((_, i) => i !== axis);
  const size = x.shape.map((d, i) => (i === axis ? 1 : d));
  return Array.from({ length: n }, (_, i) => {
    const begin = x.shape.map((_, j) => (j === axis ? i : 0));
    // A slice owns its data (block copies), laid out as the piece: dropping the unit axis is free.
    const piece = sliceKernel({ inputs: { x }, attrs: { begin, size }, backend: args.backend });
    return { dataId: piece.dataId, shape: outShape, dtype: piece.dtype };
  });
}

let registered = false;
/** Registers the replacement kernels for the 'wasm' backend (idempotent). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replacements: Array<[string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]]> = [
    ['Conv2DBackpropFilter', conv2DBackpropFilterKernel],
    ['Conv2DBackpropInput', conv2DBackpropInputKernel],
    ['MaxPoolGrad', maxPoolGradKernel],
    ['UnsortedSegmentSum', unsortedSegmentSumKernel],
    ['Tile', tileKernel],
    ['Sum', reduceKernel('Sum')],
    ['Mean', reduceKernel('Mean')],
    ['BatchMatMul', batchMatMulKernel],
    ['Identity', identityKernel],
    ['Cast', castKernel],
    ['Slice', sliceKernel],
    ['SplitV', splitVKernel],
    ['Unpack', unpackKernel],
    ['Transpose', transposeKernel],
  ];
  for (const [kernelName, kernelFunc] of replacements) {
    const old = tf.getKernel(kernelName, BACKEND);
    if (old) {
      stock.set(kernelName, old);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    // Keep the stock setupFunc: the backend runs it at initialisation to bind the kernel's
    // wasm function, which the replacements still call for the cases they leave to it.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc, setupFunc: old?.setupFunc });
  }
}
