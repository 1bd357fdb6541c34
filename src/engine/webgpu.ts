/**
 * The WebGPU backend in Node: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` npm package,
 * which carries Dawn's prebuilt native module). Both are optional peers, installed by
 * `npm run install:webgpu`, so a plain `npm install` does not fetch Dawn (about 130 MB unpacked).
 *
 * Dawn runs on any Vulkan, Metal or D3D12 driver, including Mesa's lavapipe (a Vulkan driver on
 * the CPU) where no GPU is present; Dawn rejects lavapipe before Mesa 24 (Debian 12's 22.3 lacks
 * shaderUniform*ArrayDynamicIndexing), and accepts Mesa 25 from bookworm-backports.
 *
 * tfjs-backend-webgpu cannot read tensors synchronously in Node (its readSync draws through an
 * OffscreenCanvas), so code that runs on this backend reads with `await t.data()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const WEBGPU_PACKAGES = { tfjs: '@tensorflow/tfjs-backend-webgpu', dawn: 'webgpu' } as const;
/** Versions `npm run install:webgpu` installs (tfjs-backend-webgpu must match @tensorflow/tfjs). */
export const WEBGPU_INSTALL = 'npm run install:webgpu';

export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's native API under WebGPU (Vulkan, Metal, D3D12, OpenGL ES). */
  backend: string;
  /** A software adapter (lavapipe, SwiftShader, WARP): correct, but the CPU does the work. */
  software: boolean;
}

interface GpuLike {
  requestAdapter(options?: unknown): Promise<{ info: Record<string, unknown> } | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** Dawn backends to try per platform, in order. */
const DAWN_BACKENDS: Record<string, [flag: string, name: string][]> = {
  linux: [['vulkan', 'Vulkan'], ['opengles', 'OpenGL ES']],
  darwin: [['metal', 'Metal']],
  win32: [['d3d12', 'D3D12'], ['vulkan', 'Vulkan']],
};

export class WebGpuUnavailable extends Error {}

function notInstalled(err: unknown, pkg: string): boolean {
  const code = (err as { code?: string }).code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(`'${pkg}'`);
}

async function importDawn(): Promise<DawnModule> {
  try {
    return (await import(WEBGPU_PACKAGES.dawn)) as DawnModule;
  } catch (err) {
    if (notInstalled(err, WEBGPU_PACKAGES.dawn)) throw new WebGpuUnavailable(`the Dawn package (${WEBGPU_PACKAGES.dawn}) is not installed; install it with \`${WEBGPU_INSTALL}\``);
    throw new WebGpuUnavailable(`the Dawn package (${WEBGPU_PACKAGES.dawn}) failed to load: ${String((err as Error).message).split('\n')[0]}`);
  }
}

/** What the Vulkan loader would find: installed ICD manifests and the Mesa version (Linux). */
function vulkanHint(): string {
  if (process.platform !== 'linux') return '';
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];
  const icds = dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  let loader: boolean;
  try {
    loader = /libvulkan\.so\.1\b/.test(execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    loader = existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
  }
  if (!loader) return 'the Vulkan loader (libvulkan.so.1, Debian package libvulkan1) is not installed';
  if (!icds.length) return 'no Vulkan driver is installed (no ICD manifest in /usr/share/vulkan/icd.d; for the CPU driver lavapipe install mesa-vulkan-drivers)';
  let mesa: string;
  try {
    mesa = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'mesa-vulkan-drivers'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    mesa = '';
  }
  const old = /^(\d+)\./.exec(mesa);
  const tooOld = old && Number(old[1]) < 24 ? `; Dawn rejects Mesa ${mesa}'s lavapipe (it lacks shaderUniform*ArrayDynamicIndexing): install Mesa 25 from bookworm-backports (\`apt-get install -t bookworm-backports mesa-vulkan-drivers\`)` : '';
  return `Vulkan drivers found: ${icds.join(', ')}${mesa ? ` (mesa-vulkan-drivers ${mesa})` : ''}${tooOld}`;
}

function describe(info: Record<string, unknown>, backend: string): WebGpuAdapter {
  const s = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const software = info.isFallbackAdapter === true || s('architecture') === 'software' || /llvmpipe|lavapipe|swiftshader|warp/i.test(`${s('device')} ${s('description')}`);
  return { vendor: s('vendor'), architecture: s('architecture'), device: s('device'), description: s('description'), backend, software };
}

export function adapterName(a: WebGpuAdapter): string {
  const kind = [a.vendor, a.architecture].filter(Boolean);
  if (a.software && a.architecture !== 'software') kind.push('software');
  return `${a.description || a.device || 'WebGPU adapter'} (${kind.join(', ')}; Dawn on ${a.backend})`;
}

/**
 * Finds a WebGPU adapter through Dawn and exposes it as `navigator.gpu` (with the WebGPU
 * globals tfjs-backend-webgpu uses). Throws WebGpuUnavailable with the reason when there is none.
 */
export async function findAdapter(): Promise<WebGpuAdapter> {
  const dawn = await importDawn();
  const tried: string[] = [];
  for (const [flag, name] of DAWN_BACKENDS[process.platform] ?? [['', 'default']]) {
    const gpu = dawn.create(flag ? [`backend=${flag}`] : []);
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      tried.push(name);
      continue;
    }
    installGlobals(dawn, gpu);
    return describe(adapter.info, name);
  }
  const hint = vulkanHint();
  throw new WebGpuUnavailable(`Dawn found no WebGPU adapter (tried ${tried.join(', ')})${hint ? `: ${hint}` : ''}`);
}

function installGlobals(dawn: DawnModule, gpu: GpuLike): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (g[k] === undefined) g[k] = v;
  // Node 20 has no navigator; Node 21+ has one without `gpu`.
  if (g.navigator === undefined) g.navigator = { gpu };
  else Object.defineProperty(g.navigator as object, 'gpu', { value: gpu, configurable: true });
}

/** Imports tfjs-backend-webgpu (registers the 'webgpu' backend factory) or says why it cannot. */
export async function importTfjsWebGpu(tfjsVersion: string): Promise<void> {
  try {
    await import(WEBGPU_PACKAGES.tfjs);
  } catch (err) {
    if (notInstalled(err, WEBGPU_PACKAGES.tfjs)) throw new WebGpuUnavailable(`${WEBGPU_PACKAGES.tfjs} is not installed; install it with \`${WEBGPU_INSTALL}\``);
    throw new WebGpuUnavailable(`${WEBGPU_PACKAGES.tfjs} failed to load: ${String((err as Error).message).split('\n')[0]}`);
  }
  const v = installedVersion(WEBGPU_PACKAGES.tfjs);
  if (v && v !== tfjsVersion) throw new WebGpuUnavailable(`${WEBGPU_PACKAGES.tfjs} ${v} does not match @tensorflow/tfjs ${tfjsVersion}; reinstall with \`${WEBGPU_INSTALL}\``);
}

function installedVersion(pkg: string): string | undefined {
  try {
    const file = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}
