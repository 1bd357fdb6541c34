/**
 * Backend selection. The one way the rest of acnn uses TensorFlow.js:
 *
 *   import * as tf from '@tensorflow/tfjs';
 *   import { initBackend } from '../engine/backend.js';
 *   const info = await initBackend(choice);   // once, before the first tensor is made
 *
 * tfjs, tfjs-node(-gpu) and tfjs-backend-wasm all resolve to the same tfjs-core module
 * (one engine, one kernel registry), so after `initBackend` every `tf.*` call in every
 * module runs on the chosen backend. initBackend checks that this holds for the backend
 * it picked and fails loudly if a package brought its own copy of tfjs-core.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { registerWasmKernels } from './wasm-kernels.js';
import { WebGpuUnavailable, adapterName, findAdapter, importTfjsWebGpu, type WebGpuAdapter } from './webgpu.js';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendName = Exclude<BackendChoice, 'auto'>;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
/**
 * The order `auto` tries. WebGPU is asked for by name only: tfjs-backend-webgpu is still marked
 * experimental upstream, and where Dawn finds only a software adapter (lavapipe) it is slower
 * than WebAssembly.
 */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
/** Every backend acnn knows, in the order `acnn doctor` lists them. */
export const ALL_BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The acnn name of the backend that runs. */
  name: BackendName;
  /** What the caller asked for. */
  requested: BackendChoice;
  /** The tfjs engine's backend name ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  tfjsBackend: string;
  tfjsVersion: string;
  /** e.g. the CPU model, the GPU name, or 'WebAssembly SIMD, 1 thread'. */
  device: string;
  /** webgpu: the adapter Dawn found. */
  adapter?: WebGpuAdapter;
  /** Backends tried before this one (auto) and why each did not load. */
  reasonsOthersFailed: Partial<Record<BackendName, string>>;
}

export class BackendUnavailableError extends Error {
  constructor(readonly backend: BackendName, readonly reason: string) {
    super(`backend ${backend} is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

const NODE_PACKAGES = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

function cpuModel(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() || os.arch();
  return `${model} (${cpus.length} cores)`;
}

function errText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // Native-module load errors carry a long require stack; the first line says what failed.
  return msg.split('\n')[0]!.trim();
}

/** Module import kept out of TypeScript's sight: the optional packages may not be installed. */
async function importOptional(spec: string): Promise<unknown> {
  return import(spec);
}

async function loadNode(name: 'tensorflow-gpu' | 'tensorflow'): Promise<string> {
  const pkg = NODE_PACKAGES[name];
  let mod: { version?: Record<string, string> };
  try {
    mod = (await importOptional(pkg)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      if (new RegExp(pkg.replace('/', '\\/') + "['\"]").test(String((err as Error).message))) {
        throw new BackendUnavailableError(name, `${pkg} is not installed`);
      }
    }
    throw new BackendUnavailableError(name, `${pkg} failed to load: ${errText(err)}`);
  }
  // Both packages register their backend as 'tensorflow'; if it is missing from our engine,
  // the package loaded a second copy of tfjs-core and our tf.* calls would never reach it.
  if (!tf.findBackendFactory('tensorflow')) {
    throw new BackendUnavailableError(name, `${pkg} loaded but registered its backend in another copy of @tensorflow/tfjs-core (version mismatch with @tensorflow/tfjs ${tf.version.tfjs})`);
  }
  const ok = await tf.setBackend('tensorflow');
  if (!ok) throw new BackendUnavailableError(name, `${pkg} loaded but its backend failed to initialise`);
  void mod;
  if (name === 'tensorflow-gpu') return gpuName() ?? 'CUDA GPU';
  return cpuModel();
}

function gpuName(): string | undefined {
  try {
    // nvidia-smi is the only portable source of the GPU's name; tfjs-node-gpu does not expose it.
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const names = out.split('\n').map((s: string) => s.trim()).filter(Boolean);
    return names.length ? names.join(', ') : undefined;
  } catch {
    return undefined;
  }
}

let wasmThreads = 1;
async function loadWasm(): Promise<string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailableError('wasm', `@tensorflow/tfjs-backend-wasm failed to load: ${errText(err)}`);
  }
  if (!tf.findBackendFactory('wasm')) {
    throw new BackendUnavailableError('wasm', '@tensorflow/tfjs-backend-wasm registered its backend in another copy of @tensorflow/tfjs-core');
  }
  registerWasmKernels();
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new BackendUnavailableError('wasm', 'the WebAssembly module failed to initialise');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  wasmThreads = wasm.getThreadsCount();
  return `WebAssembly${simd ? ' SIMD' : ''}, ${wasmThreads} thread${wasmThreads === 1 ? '' : 's'}`;
}

let webgpuAdapter: WebGpuAdapter | undefined;
async function loadWebGpu(): Promise<string> {
  // One Dawn instance per process: a second one next to a live device aborts the process.
  if (webgpuAdapter && tf.findBackend('webgpu')) {
    if (!(await tf.setBackend('webgpu'))) throw new BackendUnavailableError('webgpu', 'the WebGPU backend failed to switch back on');
    return adapterName(webgpuAdapter);
  }
  let adapter: WebGpuAdapter;
  try {
    adapter = await findAdapter();
    await importTfjsWebGpu(tf.version.tfjs);
  } catch (err) {
    throw new BackendUnavailableError('webgpu', err instanceof WebGpuUnavailable ? err.message : errText(err));
  }
  if (!tf.findBackendFactory('webgpu')) {
    throw new BackendUnavailableError('webgpu', '@tensorflow/tfjs-backend-webgpu registered its backend in another copy of @tensorflow/tfjs-core');
  }
  // No replacement kernels: every kernel and gradient the six variants use is checked against
  // the plain JS backend in test/webgpu.test.ts (tfjs-backend-webgpu 4.22 has them all).
  let ok: boolean;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (err) {
    throw new BackendUnavailableError('webgpu', `the WebGPU device failed to initialise: ${errText(err)}`);
  }
  if (!ok) throw new BackendUnavailableError('webgpu', `the WebGPU device on ${adapterName(adapter)} failed to initialise`);
  webgpuAdapter = adapter;
  return adapterName(adapter);
}

async function loadCpu(): Promise<string> {
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new BackendUnavailableError('cpu', 'the plain JavaScript backend failed to initialise');
  // The cpu backend greets its first Node user with advice to install tfjs-node; acnn picks
  // backends itself and `acnn doctor` explains them, so the greeting would only mislead.
  const backend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (backend) backend.firstUse = false;
  return `plain JavaScript, ${cpuModel()}`;
}

async function loadOne(name: BackendName): Promise<string> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return loadNode(name);
    case 'webgpu':
      return loadWebGpu();
    case 'wasm':
      return loadWasm();
    case 'cpu':
      return loadCpu();
  }
}

/**
 * Make `choice` the active TensorFlow.js backend (for 'auto', the first of AUTO_ORDER that
 * loads) and describe it. Calling it again switches backends; tensors made on the old backend
 * stay readable (tfjs moves their data on first use) but should be disposed by their owner.
 * Throws BackendUnavailableError when an explicitly named backend cannot load.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const reasons: Partial<Record<BackendName, string>> = {};
  for (const name of order) {
    try {
      const device = await loadOne(name);
      await tf.ready();
      const info: BackendInfo = { name, requested: choice, tfjsBackend: tf.getBackend(), tfjsVersion: tf.version.tfjs, device, reasonsOthersFailed: reasons };
      if (name === 'webgpu' && webgpuAdapter) info.adapter = webgpuAdapter;
      return info;
    } catch (err) {
      const reason = err instanceof BackendUnavailableError ? err.reason : errText(err);
      if (choice !== 'auto') throw err instanceof BackendUnavailableError ? err : new BackendUnavailableError(name, reason);
      reasons[name] = reason;
    }
  }
  // The plain JS backend ships inside @tensorflow/tfjs, so this is reached only if tfjs is broken.
  throw new BackendUnavailableError('cpu', `no backend loaded: ${JSON.stringify(reasons)}`);
}

/** Threads the WebAssembly backend runs on (1 unless the threaded binary loaded). */
export function wasmThreadCount(): number {
  return wasmThreads;
}

/**
 * Makes `name` the active backend for a piece of work that needs that one (the landmark
 * detector runs on wasm) and returns the function that switches back to the backend that was
 * active before, if any, for whoever trains next in the same process.
 */
export async function borrowBackend(name: BackendName): Promise<() => Promise<void>> {
  // The engine's backend name, read without making tfjs pick and start one.
  const previous = (tf.engine() as unknown as { backendName: string | null }).backendName;
  await loadOne(name);
  await tf.ready();
  return async () => {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  };
}
