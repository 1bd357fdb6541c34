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
export const REPLACED_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'UnsortedSegmentSum', 'Tile'] as const;

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

let registered = false;
/** Registers the replacement kernels for the 'wasm' backend (idempotent). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replacements: Array<[string, (args: KernelArgs) => tf.TensorInfo]> = [
    ['Conv2DBackpropFilter', conv2DBackpropFilterKernel],
    ['Conv2DBackpropInput', conv2DBackpropInputKernel],
    ['MaxPoolGrad', maxPoolGradKernel],
    ['UnsortedSegmentSum', unsortedSegmentSumKernel],
    ['Tile', tileKernel],
  ];
  for (const [kernelName, kernelFunc] of replacements) {
    const old = tf.getKernel(kernelName, BACKEND);
    if (old) {
      stock.set(kernelName, old);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
