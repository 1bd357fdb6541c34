/**
 * `npm run bench`: training-step and inference throughput of every variant on every available
 * backend, with the same networks in PyTorch timed side by side (bench/torch_acnn.py), a per-kernel
 * profile of the training step and the replacement-kernel micro-bench.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, initBackend, type BackendInfo, type BackendName } from '../engine/backend.js';
import type { Variant } from '../model/types.js';
import { benchKernels, type KernelBenchRow } from './kernels.js';
import { machineInfo, loadAverage, type MachineInfo } from './machine.js';
import { profileTrainStep, timeCase, type ModelCase, type Mode, type StepProfile, type TimingResult } from './model-bench.js';
import { DEFAULT_PYTHON, runTorch, type TorchInfo, type TorchResult } from './torch.js';

export const ALL_VARIANTS: readonly Variant[] = ['base', 'pcnn', 'pacnn', 'gcnn', 'gacnn', 'dlpcnn'];
export const ALL_BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'webgpu', 'cpu'];
/** The target: WebAssembly training-step CPU time within this factor of PyTorch's (1 thread)... */
export const TARGET_RATIO = 2.5;
/** ...for these variants at this input size (width 0.25, batch 16). */
export const TARGET_CASES = { variants: ['base', 'pacnn'] as readonly Variant[], inputSize: 112 };

export interface BenchOptions {
  /** Backends to try; unavailable ones are reported and skipped. */
  backends: BackendName[];
  quick: boolean;
  variants: Variant[];
  /** Input sizes of the quickstart-width runs (train and inference). */
  sizes: number[];
  width: number;
  batch: number;
  /** Full-size (fullSize, width 1) inference of every variant. */
  full: boolean;
  fullSize: number;
  fullBatch: number;
  warmup: number;
  iters: number;
  torch: boolean;
  torchThreads: number[];
  python: string;
  /** Variants whose training step is profiled kernel by kernel (first size, first full backend). */
  profile: Variant[];
  kernels: boolean;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

export function defaultOptions(quick: boolean): BenchOptions {
  return {
    backends: [...ALL_BACKENDS],
    quick,
    variants: quick ? ['base', 'pacnn'] : [...ALL_VARIANTS],
    sizes: quick ? [64] : [112, 64],
    width: 0.25,
    batch: 16,
    full: !quick,
    fullSize: 224,
    fullBatch: 2,
    warmup: 1,
    iters: quick ? 2 : 5,
    torch: true,
    torchThreads: [1, 2],
    python: DEFAULT_PYTHON,
    profile: quick ? [] : ['base', 'pacnn', 'gacnn'],
    kernels: !quick,
    log: () => {},
  };
}

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  device?: string;
  reason?: string;
  /** What was run on it (the plain JS backend only runs a small case). */
  scope?: string;
}

export interface RatioRow {
  backend: string;
  variant: string;
  inputSize: number;
  width: number;
  batch: number;
  mode: Mode;
  tfjsMs: number;
  torch1Ms: number | null;
  torch2Ms: number | null;
  /** tfjs time / PyTorch time (1 thread, 2 threads). */
  ratio1: number | null;
  ratio2: number | null;
  /** tfjs CPU time / PyTorch 1-thread CPU time: the comparison least disturbed by other load. */
  cpuRatio1: number | null;
}

export interface BenchResult {
  machine: MachineInfo;
  options: Omit<BenchOptions, 'log'>;
  backends: BackendStatus[];
  results: TimingResult[];
  torch: { enabled: boolean; available: boolean; reason?: string; info?: TorchInfo; results: TorchResult[]; errors: string[]; paramMismatches: string[] };
  ratios: RatioRow[];
  target: { ratio: number; backend: string; checked: number; met: boolean | null; worst: RatioRow | null };
  profiles: StepProfile[];
  kernels: KernelBenchRow[] | null;
  loadEnd: [number, number, number];
  notes: string[];
  elapsedSec: number;
}

/** The plain JS backend is orders of magnitude slower (scalar loops, TensorBuffer.get in its conv gradient): one small case. */
function cpuCases(o: BenchOptions): ModelCase[] {
  // One training step of VGG16 base at input 64, batch 4 takes about a minute here (2-core EPYC).
  const vs = o.variants.includes('base') ? (['base'] as Variant[]) : o.variants.slice(0, 1);
  const size = Math.min(64, ...o.sizes);
  const out: ModelCase[] = [];
  for (const v of vs) {
    // --quick (CI smoke) keeps the plain JS backend to inference: its training step alone takes a minute.
    for (const mode of o.quick ? (['infer'] as const) : (['infer', 'train'] as const)) out.push({ backbone: 'vgg16', variant: v, inputSize: size, width: o.width, batch: 4, mode, warmup: 0, iters: 1 });
  }
  return out;
}

/** A software WebGPU adapter: VGG16 base and pACNN at the smallest size, train and infer, 1 timed unit. */
function softwareGpuCases(o: BenchOptions): ModelCase[] {
  const size = Math.min(64, ...o.sizes);
  const vs = o.variants.filter((v) => v === 'base' || v === 'pacnn');
  return (vs.length ? vs : o.variants.slice(0, 1)).flatMap((variant) =>
    (['train', 'infer'] as const).map((mode) => ({ backbone: 'vgg16' as const, variant, inputSize: size, width: o.width, batch: o.batch, mode, warmup: 1, iters: 1 })),
  );
}

function mainCases(o: BenchOptions, variant: Variant, size: number): ModelCase[] {
  return (['train', 'infer'] as const).map((mode) => ({ backbone: 'vgg16', variant, inputSize: size, width: o.width, batch: o.batch, mode, warmup: o.warmup, iters: o.iters }));
}

function fullCase(o: BenchOptions, variant: Variant): ModelCase {
  return { backbone: 'vgg16', variant, inputSize: o.fullSize, width: 1, batch: o.fullBatch, mode: 'infer', warmup: o.warmup, iters: Math.max(1, Math.min(o.iters, 3)) };
}

const sameCase = (a: { variant: string; inputSize: number; width: number; batch: number; mode: string }, b: typeof a) =>
  a.variant === b.variant && a.inputSize === b.inputSize && a.width === b.width && a.batch === b.batch && a.mode === b.mode;

/** What a bench run collects as it goes, and the two ways it times a case (TF.js here, PyTorch in a child). */
function benchRecorder(o: BenchOptions) {
  const log = o.log;
  const statuses: BackendStatus[] = [];
  const results: TimingResult[] = [];
  const notes: string[] = [];
  const profiles: StepProfile[] = [];
  const torch = { available: false, reason: undefined as string | undefined, info: undefined as TorchInfo | undefined, tried: false, done: false, results: [] as TorchResult[], errors: [] as string[] };

  const timeTorch = async (cases: ModelCase[]) => {
    if (!o.torch || (torch.tried && !torch.available)) return;
    torch.tried = true;
    const r = await runTorch(
      cases.map((c) => ({ variant: c.variant, inputSize: c.inputSize, width: c.width, batch: c.batch, mode: c.mode, warmup: c.warmup, iters: c.iters })),
      o.torchThreads,
      o.python,
    );
    if (!r.available) {
      torch.reason = r.reason ?? 'PyTorch produced no output';
      log(`torch: skipped (${torch.reason})`);
      return;
    }
    torch.available = true;
    torch.info = r.info;
    torch.results.push(...r.results);
    torch.errors.push(...r.errors);
    for (const t of r.results) log(`  torch ${t.threads}t ${t.variant} ${t.inputSize}/${t.width} b${t.batch} ${t.mode}: ${t.medianMs.toFixed(0)} ms (${t.imagesPerSec.toFixed(1)} img/s)`);
    for (const e of r.errors) log(`  torch error: ${e}`);
  };

  const timeOne = async (c: ModelCase) => {
    try {
      const r = await timeCase(c);
      results.push(r);
      log(`  ${r.backend} ${c.variant} ${c.inputSize}/${c.width} b${c.batch} ${c.mode}: ${r.medianMs.toFixed(0)} ms (${r.imagesPerSec.toFixed(1)} img/s, load ${r.load1})`);
    } catch (err) {
      const msg = `${tf.getBackend()} ${c.variant} ${c.inputSize}/${c.width} b${c.batch} ${c.mode} failed: ${(err as Error).message.split('\n')[0]}`;
      notes.push(msg);
      log(`  ${msg}`);
    }
  };

  return { statuses, results, notes, profiles, torch, timeTorch, timeOne };
}
type BenchRecorder = ReturnType<typeof benchRecorder>;

/**
 * One backend's share of the plan: the small case on plain JS or on a software WebGPU adapter,
 * else every size and variant (with PyTorch beside the first full-plan backend).
 */
async function benchBackend(o: BenchOptions, name: BackendName, rec: BenchRecorder): Promise<void> {
  const { statuses, torch, timeTorch, timeOne } = rec;
  const log = o.log;
  let info: BackendInfo;
  try {
    info = await initBackend(name);
  } catch (err) {
    const reason = err instanceof BackendUnavailableError ? err.reason : (err as Error).message;
    statuses.push({ name, available: false, reason });
    log(`backend ${name}: unavailable (${reason})`);
    return;
  }
  const device = info.device;
  log(`backend ${name}: ${device}`);
  if (name === 'cpu') {
    const cases = cpuCases(o);
    statuses.push({ name, available: true, device, scope: `small case only (VGG16 ${cases[0]!.variant}, input ${cases[0]!.inputSize}, batch 4, ${cases.map((c) => c.mode).join(' + ')}, 1 timed unit): the plain JS backend is far too slow for the full plan` });
    for (const c of cases) await timeOne(c);
    return;
  }
  if (name === 'webgpu' && info.adapter?.software) {
    // A software adapter (lavapipe) runs the shaders on the CPU: a check that the route works.
    const cases = softwareGpuCases(o);
    statuses.push({ name, available: true, device, scope: `small case only (${cases.length} units at input ${cases[0]!.inputSize}, batch ${cases[0]!.batch}): a software adapter (the CPU runs the shaders)` });
    for (const c of cases) await timeOne(c);
    return;
  }
  statuses.push({ name, available: true, device, scope: 'full plan' });
  // PyTorch runs next to the first full-plan backend, variant by variant, so both see the same load.
  const withTorch = !torch.done;
  torch.done = true;
  for (const size of o.sizes) {
    for (const v of o.variants) {
      const cases = mainCases(o, v, size);
      for (const c of cases) await timeOne(c);
      if (withTorch) await timeTorch(cases);
    }
  }
  if (o.full) {
    for (const v of o.variants) {
      const c = fullCase(o, v);
      await timeOne(c);
      if (withTorch) await timeTorch([c]);
    }
  }
  // Kernel timing needs synchronous kernels: not on webgpu, whose kernels only enqueue work.
  if (withTorch && name !== 'webgpu') await profileBackend(o, name, rec);
}

/** Per-kernel profiles of a training step of each o.profile variant. */
async function profileBackend(o: BenchOptions, name: BackendName, rec: BenchRecorder): Promise<void> {
  for (const v of o.profile) {
    try {
      const p = await profileTrainStep({ backbone: 'vgg16', variant: v, inputSize: o.sizes[0]!, width: o.width, batch: o.batch, warmup: o.warmup });
      rec.profiles.push(p);
      o.log(`  profile ${name} ${v}: step ${p.stepMs.toFixed(0)} ms, outside kernels ${p.outsideKernelsMs.toFixed(0)} ms`);
    } catch (err) {
      rec.notes.push(`profile ${v} failed: ${(err as Error).message}`);
    }
  }
}

/** TF.js timings against PyTorch's for the same case: parameter counts that disagree, and the time ratios. */
function compareWithTorch(results: TimingResult[], torchResults: TorchResult[]): { paramMismatches: string[]; ratios: RatioRow[] } {
  const paramMismatches: string[] = [];
  for (const t of torchResults) {
    const r = results.find((x) => sameCase(x, t));
    if (r && r.params !== t.params) paramMismatches.push(`${t.variant} ${t.inputSize}/${t.width}: tfjs ${r.params}, torch ${t.params}`);
  }
  const ratios: RatioRow[] = results.map((r) => {
    const t1 = torchResults.find((t) => t.threads === 1 && sameCase(r, t));
    const t2 = torchResults.find((t) => t.threads === 2 && sameCase(r, t));
    const ratio = (t?: TorchResult) => (t ? Math.round((r.medianMs / t.medianMs) * 100) / 100 : null);
    return {
      backend: r.backend,
      variant: r.variant,
      inputSize: r.inputSize,
      width: r.width,
      batch: r.batch,
      mode: r.mode,
      tfjsMs: r.medianMs,
      torch1Ms: t1?.medianMs ?? null,
      torch2Ms: t2?.medianMs ?? null,
      ratio1: ratio(t1),
      ratio2: ratio(t2),
      cpuRatio1: t1 && t1.cpuMedianMs > 0 ? Math.round((r.cpuMedianMs / t1.cpuMedianMs) * 100) / 100 : null,
    };
  });
  return { paramMismatches, ratios };
}

/** The target: base and pACNN WebAssembly training steps at 112 px within TARGET_RATIO of PyTorch's CPU time on one thread. */
function targetCheck(ratios: RatioRow[]): BenchResult['target'] {
  const checked = ratios.filter(
    (r) => r.backend === 'wasm' && r.mode === 'train' && r.cpuRatio1 != null && TARGET_CASES.variants.includes(r.variant as Variant) && r.inputSize === TARGET_CASES.inputSize,
  );
  const worst = checked.reduce<RatioRow | null>((w, r) => (w == null || r.cpuRatio1! > w.cpuRatio1! ? r : w), null);
  return { ratio: TARGET_RATIO, backend: 'wasm', checked: checked.length, met: checked.length ? checked.every((r) => r.cpuRatio1! <= TARGET_RATIO) : null, worst };
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const machine = machineInfo();
  const log = o.log;
  log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadStart.join(' ')}`);
  const rec = benchRecorder(o);
  const { statuses, results, notes, profiles, torch } = rec;
  for (const name of o.backends) await benchBackend(o, name, rec);
  // PyTorch next to the plain JS backend's small case when it was the only backend.
  if (o.torch && !torch.tried) {
    const cases: ModelCase[] = results.map((r) => ({ backbone: r.backbone, variant: r.variant, inputSize: r.inputSize, width: r.width, batch: r.batch, mode: r.mode, warmup: 1, iters: Math.max(3, o.iters) }));
    if (cases.length) await rec.timeTorch(cases);
  }

  let kernels: KernelBenchRow[] | null = null;
  if (o.kernels && statuses.some((s) => s.name === 'wasm' && s.available)) {
    log('kernel bench (wasm replacement kernels)');
    kernels = await benchKernels({ skipCpu: true });
  }

  const { paramMismatches, ratios } = compareWithTorch(results, torch.results);
  const { log: _log, ...opts } = o;
  return {
    machine,
    options: opts,
    backends: statuses,
    results,
    torch: { enabled: o.torch, available: torch.available, reason: torch.reason, info: torch.info, results: torch.results, errors: torch.errors, paramMismatches },
    ratios,
    target: targetCheck(ratios),
    profiles,
    kernels,
    loadEnd: loadAverage(),
    notes,
    elapsedSec: Math.round((performance.now() - t0) / 100) / 10,
  };
}
