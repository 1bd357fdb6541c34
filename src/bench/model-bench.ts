/**
 * Timing of acnn's networks on the active TensorFlow.js backend: one training step (forward,
 * backward, SGD momentum update with weight decay, exactly what the runner does) and inference
 * (eval-mode forward), plus a per-kernel profile of one training step.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../model/build.js';
import { describeModel } from '../model/arch.js';
import type { Backbone, ModelOptions, Variant } from '../model/types.js';
import { SgdMomentum } from '../train/sgd.js';
import { loadAverage } from './machine.js';

export type Mode = 'train' | 'infer';

export interface ModelCase {
  backbone: Backbone;
  variant: Variant;
  inputSize: number;
  width: number;
  batch: number;
  mode: Mode;
  warmup: number;
  iters: number;
}

export interface TimingResult extends Omit<ModelCase, 'warmup' | 'iters'> {
  backend: string;
  warmup: number;
  iters: number;
  medianMs: number;
  timesMs: number[];
  imagesPerSec: number;
  /**
   * Median CPU time (user + system) of this process per unit. On a loaded machine wall time grows
   * with other processes' load while a single-threaded backend's CPU time mostly does not.
   */
  cpuMedianMs: number;
  /** Trainable parameters (describeModel). */
  params: number;
  /** Forward GFLOPs per image (describeModel: 2 x multiply-adds of convs and FCs). */
  gflopsPerImage: number;
  /** 1-minute load average right after the timing. */
  load1: number;
}

export function modelOptions(c: Pick<ModelCase, 'backbone' | 'variant' | 'inputSize' | 'width'>): ModelOptions {
  return { backbone: c.backbone, variant: c.variant, inputSize: c.inputSize, width: c.width, numClasses: 7, dropout: 0.5 };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Deterministic inputs: images in [0, 1], region centres inside the face (host values, as the runner passes them), labels 0..6. */
function inputs(c: Pick<ModelCase, 'inputSize' | 'batch'>) {
  const S = c.inputSize;
  const B = c.batch;
  const images = tf.randomUniform([B, S, S, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  const lo = Math.min(8, S / 4);
  let seed = 12;
  const points = Float32Array.from({ length: B * 48 }, () => lo + ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * (S - 2 * lo));
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 7), 'int32');
  const onehot = tf.oneHot(labels, 7);
  return { images, points, labels, onehot };
}

/** Builds the model and returns the function that runs one timed unit (a step or a forward pass). */
function prepare(c: ModelCase) {
  const model = buildModel(modelOptions(c), 1);
  const data = inputs(c);
  const variables = model.trainableVariables();
  const sgd = new SgdMomentum(0.9, 5e-4);
  let phase: (p: 'forward' | 'backward' | 'update') => void = () => {};
  // Asynchronous reads: the webgpu backend cannot read synchronously in Node. On wasm and cpu
  // the read resolves at once (their kernels run synchronously).
  const train = async () => {
    phase('forward');
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(data.images, data.points, true, data.labels);
      const loss = tf.losses.softmaxCrossEntropy(data.onehot, out.logits) as tf.Scalar;
      phase('backward');
      return loss;
    }, variables);
    phase('update');
    sgd.apply(variables, grads as Record<string, tf.Tensor>, 0.001);
    const loss = (await value.data())[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  const infer = async () => {
    const logits = tf.tidy(() => model.forward(data.images, data.points, false).logits);
    // B x 7 floats: a small read that waits for the whole forward pass.
    const v = (await logits.data())[0]!;
    logits.dispose();
    return v;
  };
  const run = c.mode === 'train' ? train : infer;
  const dispose = () => {
    sgd.dispose();
    model.dispose();
    tf.dispose([data.images, data.labels, data.onehot]);
  };
  return { run, dispose, setPhaseHook: (h: typeof phase) => (phase = h) };
}

/** Warm up, then time `iters` units and report the median. */
export async function timeCase(c: ModelCase): Promise<TimingResult> {
  const d = describeModel(modelOptions(c));
  const p = prepare(c);
  try {
    for (let i = 0; i < c.warmup; i++) await p.run();
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < c.iters; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await p.run();
      times.push(performance.now() - t0);
      const dc = process.cpuUsage(c0);
      cpu.push((dc.user + dc.system) / 1000);
    }
    const med = median(times);
    return {
      backend: tf.getBackend(),
      backbone: c.backbone,
      variant: c.variant,
      inputSize: c.inputSize,
      width: c.width,
      batch: c.batch,
      mode: c.mode,
      warmup: c.warmup,
      iters: c.iters,
      medianMs: round1(med),
      timesMs: times.map(round1),
      imagesPerSec: round1((c.batch * 1000) / med),
      cpuMedianMs: round1(median(cpu)),
      params: d.totalParams,
      gflopsPerImage: Math.round(d.totalFlops / 1e6) / 1e3,
      load1: loadAverage()[0],
    };
  } finally {
    p.dispose();
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;

// ---------------------------------------------------------------------------------------------
// Per-kernel profile

export interface ProfileRow {
  kernel: string;
  phase: 'forward' | 'backward' | 'update';
  calls: number;
  ms: number;
  /** Share of the step's wall time. */
  share: number;
  /** Convolution and matmul kernels: GFLOP executed and the rate achieved. */
  gflop?: number;
  gflops?: number;
}

export interface StepProfile {
  backend: string;
  variant: Variant;
  backbone: Backbone;
  inputSize: number;
  width: number;
  batch: number;
  stepMs: number;
  /** Time inside top-level kernels, per phase. */
  kernelMs: Record<'forward' | 'backward' | 'update', number>;
  /** Step time not spent in any kernel: JS autodiff bookkeeping, host-side crop copies, allocation. */
  outsideKernelsMs: number;
  rows: ProfileRow[];
  load1: number;
}

type KernelFunc = tf.KernelConfig['kernelFunc'];

function convFlops(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, out: tf.TensorInfo | undefined): number | undefined {
  const sh = (t: tf.TensorInfo | undefined) => t?.shape ?? [];
  if (name === 'Conv2D' || name === 'FusedConv2D') {
    const f = sh(inputs.filter);
    const o = sh(out);
    return 2 * o[0]! * o[1]! * o[2]! * o[3]! * f[0]! * f[1]! * f[2]!;
  }
  if (name === 'Conv2DBackpropFilter') {
    const f = attrs.filterShape as number[];
    const dy = sh(inputs.dy);
    return 2 * dy[0]! * dy[1]! * dy[2]! * dy[3]! * f[0]! * f[1]! * f[2]!;
  }
  if (name === 'Conv2DBackpropInput') {
    const f = sh(inputs.filter);
    const dy = sh(inputs.dy);
    return 2 * dy[0]! * dy[1]! * dy[2]! * dy[3]! * f[0]! * f[1]! * f[2]!;
  }
  if (name === 'BatchMatMul' || name === '_FusedMatMul') {
    const a = sh(inputs.a);
    const o = sh(out);
    const k = attrs.transposeA ? a[a.length - 2]! : a[a.length - 1]!;
    return 2 * o.reduce((x, y) => x * y, 1) * k;
  }
  return undefined;
}

/**
 * Times one training step kernel by kernel: every kernel registered for the active backend is
 * wrapped (and restored afterwards) so that each top-level kernel's inclusive wall time is
 * recorded. Kernels that run other kernels inside (acnn's replacement conv gradients on wasm) count
 * once, under their own name. The wasm backend is synchronous, so wall time is kernel time.
 */
export async function profileTrainStep(c: Omit<ModelCase, 'mode' | 'iters'>): Promise<StepProfile> {
  const backend = tf.getBackend();
  const p = prepare({ ...c, mode: 'train', iters: 1 });
  const originals = tf.getKernelsForBackend(backend);
  const acc = new Map<string, { calls: number; ms: number; flops: number; hasFlops: boolean }>();
  let phase: 'forward' | 'backward' | 'update' = 'forward';
  let depth = 0;
  const wrap = (cfg: tf.KernelConfig): tf.KernelConfig => {
    const inner: KernelFunc = cfg.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = performance.now();
      let out: ReturnType<KernelFunc>;
      try {
        out = inner(args);
      } finally {
        depth--;
      }
      const ms = performance.now() - t0;
      const key = `${phase}\u0000${cfg.kernelName}`;
      const a = acc.get(key) ?? { calls: 0, ms: 0, flops: 0, hasFlops: false };
      a.calls++;
      a.ms += ms;
      const first = Array.isArray(out) ? out[0] : (out as tf.TensorInfo);
      const fl = convFlops(cfg.kernelName, args.inputs, args.attrs ?? {}, first);
      if (fl !== undefined) {
        a.flops += fl;
        a.hasFlops = true;
      }
      acc.set(key, a);
      return out;
    };
    return { ...cfg, kernelFunc };
  };
  try {
    for (let i = 0; i < Math.max(1, c.warmup); i++) await p.run();
    for (const cfg of originals) {
      tf.unregisterKernel(cfg.kernelName, backend);
      tf.registerKernel(wrap(cfg));
    }
    p.setPhaseHook((ph) => (phase = ph));
    const t0 = performance.now();
    await p.run();
    const stepMs = performance.now() - t0;
    const rows: ProfileRow[] = [...acc].map(([key, a]) => {
      const [ph, kernel] = key.split('\u0000') as [ProfileRow['phase'], string];
      const row: ProfileRow = { kernel, phase: ph, calls: a.calls, ms: round1(a.ms), share: Math.round((a.ms / stepMs) * 1000) / 1000 };
      if (a.hasFlops) {
        row.gflop = Math.round(a.flops / 1e6) / 1e3;
        row.gflops = a.ms > 0 ? round1(a.flops / 1e6 / a.ms) : 0;
      }
      return row;
    });
    rows.sort((x, y) => y.ms - x.ms);
    const kernelMs = { forward: 0, backward: 0, update: 0 };
    for (const r of rows) kernelMs[r.phase] += r.ms;
    for (const k of Object.keys(kernelMs) as (keyof typeof kernelMs)[]) kernelMs[k] = round1(kernelMs[k]);
    const inside = kernelMs.forward + kernelMs.backward + kernelMs.update;
    return {
      backend,
      variant: c.variant,
      backbone: c.backbone,
      inputSize: c.inputSize,
      width: c.width,
      batch: c.batch,
      stepMs: round1(stepMs),
      kernelMs,
      outsideKernelsMs: round1(stepMs - inside),
      rows,
      load1: loadAverage()[0],
    };
  } finally {
    for (const cfg of originals) {
      tf.unregisterKernel(cfg.kernelName, backend);
      tf.registerKernel(cfg);
    }
    p.dispose();
  }
}
