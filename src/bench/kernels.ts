/**
 * Times acnn's replacement WebAssembly kernels against the stock wasm kernel they replace
 * (where one exists) and the plain JS backend, on VGG-like layer shapes.
 * `npm run bench` prints `formatKernelBench(await benchKernels())`.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { stockWasmKernel } from '../engine/wasm-kernels.js';

export interface KernelBenchRow {
  kernel: string;
  /** Human-readable shapes and attributes. */
  shape: string;
  /** ms per call of acnn's kernel on wasm. */
  acnnWasmMs: number;
  /** ms per call of the stock wasm kernel; null where tfjs-backend-wasm has none. */
  stockWasmMs: number | null;
  /** ms per call on the plain JS backend; null when skipped. */
  cpuMs: number | null;
  /** The forward conv/pool of the same layer on wasm, the yardstick a gradient kernel is read against. */
  forwardWasmMs: number | null;
}

export interface KernelBenchOptions {
  /** Minimum timed calls per measurement (more for fast kernels, up to a time budget). */
  reps?: number;
  /** Skip the JS backend; default: skipped for the full shapes, where one JS call takes seconds. */
  skipCpu?: boolean;
  /** Use small shapes (tests). */
  quick?: boolean;
}

interface Case {
  kernel: string;
  shape: string;
  inputs: () => Record<string, tf.Tensor>;
  attrs: Record<string, unknown>;
  /** Builds the forward op of the same layer (constants made once, outside the timing). */
  forward?: (inputs: Record<string, tf.Tensor>) => () => tf.Tensor;
}

function convCases(quick: boolean): Case[] {
  const layers: Array<[number, number, number, number, number, number]> = quick
    ? [[2, 14, 14, 8, 8, 1]]
    : [
        [16, 112, 112, 16, 16, 1],
        [16, 56, 56, 32, 32, 1],
        [16, 28, 28, 64, 64, 1],
        [16, 14, 14, 128, 128, 1],
        [16, 28, 28, 64, 128, 2],
      ];
  const out: Case[] = [];
  for (const [n, h, w, ci, co, s] of layers) {
    const xShape: [number, number, number, number] = [n, h, w, ci];
    const fShape: [number, number, number, number] = [3, 3, ci, co];
    const ho = Math.ceil(h / s), wo = Math.ceil(w / s);
    const desc = `x[${xShape}] f[${fShape}] s${s} same`;
    out.push({
      kernel: 'Conv2DBackpropFilter',
      shape: desc,
      inputs: () => ({ x: tf.randomNormal(xShape), dy: tf.randomNormal([n, ho, wo, co]) }),
      attrs: { strides: [s, s], pad: 'same', dataFormat: 'NHWC', filterShape: fShape },
      forward: (i) => {
        const f = tf.zeros(fShape) as tf.Tensor4D;
        return () => tf.conv2d(i.x as tf.Tensor4D, f, s, 'same');
      },
    });
    out.push({
      kernel: 'Conv2DBackpropInput',
      shape: desc,
      inputs: () => ({ dy: tf.randomNormal([n, ho, wo, co]), filter: tf.randomNormal(fShape) }),
      attrs: { strides: [s, s], pad: 'same', dataFormat: 'NHWC', inputShape: xShape },
      forward: (i) => {
        const x = tf.zeros(xShape) as tf.Tensor4D;
        return () => tf.conv2d(x, i.filter as tf.Tensor4D, s, 'same');
      },
    });
  }
  const pools: Array<[number, number, number, number]> = quick ? [[2, 14, 14, 8]] : [[16, 112, 112, 16], [16, 56, 56, 32], [16, 28, 28, 64]];
  for (const [n, h, w, c] of pools) {
    out.push({
      kernel: 'MaxPoolGrad',
      shape: `x[${[n, h, w, c]}] 2x2 s2`,
      inputs: () => {
        const input = tf.randomNormal([n, h, w, c]) as tf.Tensor4D;
        const output = tf.maxPool(input, 2, 2, 'valid');
        return { dy: tf.randomNormal(output.shape), input, output };
      },
      attrs: { filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
      forward: (i) => () => tf.maxPool(i.input as tf.Tensor4D, 2, 2, 'valid'),
    });
  }
  const tiles: Array<[number[], number[]]> = quick ? [[[1, 1, 1, 8], [2, 14, 14, 1]]] : [[[1, 1, 1, 32], [16, 56, 56, 1]], [[1, 1, 1, 16], [16, 112, 112, 1]]];
  for (const [shape, reps] of tiles) {
    out.push({
      kernel: 'Tile',
      shape: `x[${shape}] reps [${reps}]`,
      inputs: () => ({ x: tf.randomNormal(shape) }),
      attrs: { reps },
    });
  }
  const seg: Array<[number, number, number]> = quick ? [[100, 8, 20]] : [[16 * 24 * 36, 128, 16 * 14 * 14]];
  for (const [rows, c, numSegments] of seg) {
    out.push({
      kernel: 'UnsortedSegmentSum',
      shape: `x[${rows},${c}] -> ${numSegments} segments`,
      inputs: () => ({ x: tf.randomNormal([rows, c]), segmentIds: tf.randomUniform([rows], 0, numSegments, 'int32') }),
      attrs: { numSegments },
      forward: (i) => {
        const table = tf.zeros([numSegments, c]);
        return () => tf.gather(table, i.segmentIds as tf.Tensor1D);
      },
    });
  }
  return out;
}

function timeIt(f: () => void, reps: number): number {
  f();
  const budgetMs = 1500;
  const t0 = performance.now();
  let n = 0;
  while (n < reps || (performance.now() - t0 < budgetMs / 4 && n < reps * 10)) {
    f();
    n++;
    if (performance.now() - t0 > budgetMs) break;
  }
  return (performance.now() - t0) / n;
}

function runAndDispose(kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): void {
  const out = tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  tf.dispose(out as tf.Tensor | tf.Tensor[]);
}

/** Runs the benchmark; leaves the active backend as it found it (wasm if none was set). */
export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const reps = opts.reps ?? 5;
  const before = tf.engine().backendName;
  await initBackend('wasm');
  const wasmBackend = tf.findBackend('wasm')!;
  const rows: KernelBenchRow[] = [];
  for (const c of convCases(opts.quick ?? false)) {
    await tf.setBackend('wasm');
    const inputs = c.inputs();
    const acnnWasmMs = timeIt(() => runAndDispose(c.kernel, inputs, c.attrs), reps);
    let stockWasmMs: number | null = null;
    const stock = stockWasmKernel(c.kernel);
    if (stock) {
      // The stock kernel was unregistered before the backend initialised, so run its setup here.
      stock.setupFunc?.(wasmBackend);
      stockWasmMs = timeIt(() => {
        const out = stock.kernelFunc({ inputs: inputs as unknown as tf.NamedTensorInfoMap, attrs: c.attrs as tf.NamedAttrMap, backend: wasmBackend });
        for (const o of Array.isArray(out) ? out : [out]) wasmBackend.disposeData(o.dataId);
      }, reps);
    }
    let forwardWasmMs: number | null = null;
    if (c.forward) {
      // Constants the forward op needs are made in this scope and released with it.
      tf.engine().startScope();
      const fwd = c.forward(inputs);
      forwardWasmMs = timeIt(() => fwd().dispose(), reps);
      tf.engine().endScope();
    }
    let cpuMs: number | null = null;
    if (!(opts.skipCpu ?? !opts.quick)) {
      await initBackend('cpu');
      const cpuInputs = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.dataSync(), v.shape, v.dtype)]));
      cpuMs = timeIt(() => runAndDispose(c.kernel, cpuInputs, c.attrs), 1);
      tf.dispose(Object.values(cpuInputs));
      await tf.setBackend('wasm');
    }
    tf.dispose(Object.values(inputs));
    rows.push({ kernel: c.kernel, shape: c.shape, acnnWasmMs, stockWasmMs, cpuMs, forwardWasmMs });
  }
  if (before && before !== tf.getBackend()) await tf.setBackend(before);
  return rows;
}

export function formatKernelBench(rows: KernelBenchRow[]): string {
  const fmt = (v: number | null) => (v == null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const header = ['kernel', 'shape', 'acnn wasm ms', 'stock wasm ms', 'JS cpu ms', 'fwd wasm ms', 'vs stock'];
  const body = rows.map((r) => [
    r.kernel,
    r.shape,
    fmt(r.acnnWasmMs),
    r.stockWasmMs == null ? 'missing' : fmt(r.stockWasmMs),
    fmt(r.cpuMs),
    fmt(r.forwardWasmMs),
    r.stockWasmMs == null ? '-' : `${(r.stockWasmMs / r.acnnWasmMs).toFixed(1)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
