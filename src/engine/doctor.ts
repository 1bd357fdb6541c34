/**
 * What `acnn doctor` checks: which TensorFlow.js backends load on this machine and, for the
 * ones that don't, why. The native backends are probed in child processes so that a native
 * library that aborts cannot take the report down with it, and so that tfjs-node and
 * tfjs-node-gpu (which both register a 'tensorflow' backend) never meet in one process.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALL_BACKEND_NAMES, AUTO_ORDER, initBackend, type BackendName } from './backend.js';
import { WEBGPU_INSTALL, WEBGPU_PACKAGES, type WebGpuAdapter } from './webgpu.js';

/** tfjs-node-gpu 4.22 is linked against CUDA 11.2 and cuDNN 8.1: these sonames, no others. */
export const REQUIRED_CUDA_LIBS = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

export interface CudaLibStatus {
  soname: string;
  /** Where the exact soname was found. */
  found: string[];
  /** Other versions of the same library that exist (what a newer CUDA install provides). */
  otherVersions: string[];
}

export interface BackendStatus {
  name: BackendName;
  package: string;
  installed: boolean;
  version?: string;
  loads: boolean;
  device?: string;
  reason?: string;
  /** webgpu: the adapter Dawn found (also when the backend failed after finding one). */
  adapter?: WebGpuAdapter;
}

export interface DoctorReport {
  node: string;
  platform: string;
  cpu: string;
  tfjsVersion: string;
  backends: BackendStatus[];
  /** What `--backend auto` picks here (webgpu is only used when asked for by name). */
  auto: BackendName | null;
  tfjsNode: { installed: boolean; libtensorflowDir: string | null; libtensorflow: Record<string, boolean>; binding: string | null };
  cuda: {
    nvidiaSmi: { present: boolean; gpus: string[]; driver?: string; error?: string };
    searched: string[];
    libs: CudaLibStatus[];
  };
  advice: string[];
}

const require = createRequire(import.meta.url);
const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  webgpu: WEBGPU_PACKAGES.tfjs,
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

function packageDir(pkg: string): string | null {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
}

function packageVersion(dir: string | null): string | undefined {
  if (!dir) return undefined;
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

type ProbeResult = { loads: boolean; device?: string; adapter?: WebGpuAdapter; reason?: string };

/**
 * Runs `body` (ES module code that calls `out({ loads, ... })`) in a fresh Node process, so that
 * a native library that aborts cannot take the report down; resolves with what it reported.
 */
function probeInChild(body: string, execArgv: string[], timeoutMs: number): Promise<ProbeResult> {
  const script = `
    const out = (o) => process.stdout.write('\\n@@' + JSON.stringify(o));
    try {${body}
    } catch (e) { out({ loads: false, reason: String(e && e.message || e).split('\\n')[0] }); }
    process.exit(0);`;
  return new Promise((resolve) => {
    execFile(process.execPath, [...execArgv, '--input-type=module', '-e', script], { cwd: path.dirname(require.resolve('@tensorflow/tfjs/package.json')), timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const i = stdout.lastIndexOf('\n@@');
      if (i >= 0) {
        try {
          resolve(JSON.parse(stdout.slice(i + 3)) as ProbeResult);
          return;
        } catch {
          // fall through to the process-level failure below
        }
      }
      const lastErr = stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
      resolve({ loads: false, reason: `the probe process died (${err?.signal ?? `exit ${err?.code ?? '?'}`}): ${lastErr ?? 'no message'}` });
    });
  });
}

/** Loads a native backend in a fresh Node process; resolves with its device or why it failed. */
function probeNative(name: 'tensorflow-gpu' | 'tensorflow', timeoutMs = 60_000): Promise<ProbeResult> {
  const pkg = PACKAGES[name];
  return probeInChild(
    `
      const tf = await import('@tensorflow/tfjs');
      await import(${JSON.stringify(pkg)});
      if (!tf.findBackendFactory('tensorflow')) out({ loads: false, reason: 'loaded, but registered its backend in a different copy of @tensorflow/tfjs-core' });
      else if (!(await tf.setBackend('tensorflow'))) out({ loads: false, reason: 'loaded, but the backend failed to initialise' });
      else { tf.tensor([1, 2]).square().dataSync(); out({ loads: true }); }`,
    [],
    timeoutMs,
  );
}

/**
 * Starts the WebGPU backend in a fresh Node process (Dawn is native code) and runs a gradient
 * on it; resolves with the adapter and device, or the reason it failed. The child gets this
 * process's Node flags, so it loads backend.ts through tsx when the tests run the sources.
 */
async function probeWebGpu(timeoutMs = 120_000): Promise<ProbeResult> {
  const backendUrl = new URL('./backend.js', import.meta.url).href;
  const r = await probeInChild(
    `
      const { initBackend } = await import(${JSON.stringify(backendUrl)});
      const tf = await import('@tensorflow/tfjs');
      const info = await initBackend('webgpu');
      const g = tf.grad((x) => tf.sum(tf.square(tf.conv2d(x, tf.ones([3, 3, 1, 2]), 1, 'same'))))(tf.ones([1, 4, 4, 1]));
      const v = await g.data();
      if (!(v[5] > 0)) out({ loads: false, adapter: info.adapter, reason: 'a test gradient on the device came back wrong' });
      else out({ loads: true, device: info.device, adapter: info.adapter });`,
    process.execArgv,
    timeoutMs,
  );
  if (r.reason) r.reason = r.reason.replace(/^backend webgpu is unavailable: /, '');
  return r;
}

function ldconfigEntries(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const out = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
      for (const line of out.split('\n')) {
        const m = /^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)/.exec(line);
        if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
      }
      return map;
    } catch {
      continue;
    }
  }
  return map;
}

function cudaDirs(): string[] {
  const dirs = new Set<string>();
  for (const d of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (d) dirs.add(d);
  const roots = ['/usr/local'];
  for (const root of roots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names.filter((n) => /^cuda(-[\d.]+)?$/.test(n)).sort()) {
      dirs.add(path.join(root, n, 'lib64'));
      dirs.add(path.join(root, n, 'targets', 'x86_64-linux', 'lib'));
    }
  }
  if (process.env.CUDA_HOME) dirs.add(path.join(process.env.CUDA_HOME, 'lib64'));
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib/wsl/lib']) dirs.add(d);
  // /usr/local/cuda is usually a link to a versioned folder and lib64 a link to lib: list each folder once.
  const seen = new Set<string>();
  return [...dirs].filter((d) => {
    if (!existsSync(d)) return false;
    const real = realpathSync(d);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

function real(p: string): string {
  try {
    return realpathSync(path.dirname(p)) + path.sep + path.basename(p);
  } catch {
    return p;
  }
}

/** For each required soname: where it is, and which other versions of that library exist. */
export function probeCudaLibs(): { searched: string[]; libs: CudaLibStatus[] } {
  const ld = ldconfigEntries();
  const dirs = cudaDirs();
  const listing = new Map<string, string[]>();
  for (const d of dirs) {
    try {
      listing.set(d, readdirSync(d));
    } catch {
      listing.set(d, []);
    }
  }
  const libs = REQUIRED_CUDA_LIBS.map((soname): CudaLibStatus => {
    const base = soname.slice(0, soname.indexOf('.so') + 3);
    const found = new Set<string>(ld.get(soname) ?? []);
    const others = new Set<string>();
    for (const [name, paths] of ld) if (name.startsWith(`${base}.`) && name !== soname) for (const p of paths) others.add(p);
    for (const [d, names] of listing) {
      for (const n of names) {
        if (n === soname) found.add(path.join(d, n));
        else if (n.startsWith(`${base}.`)) others.add(path.join(d, n));
      }
    }
    const uniq = (xs: Set<string>) => [...new Set([...xs].map(real))].sort();
    return { soname, found: uniq(found), otherVersions: uniq(others).filter((p) => !uniq(found).includes(p)) };
  });
  return { searched: ['ldconfig -p', ...dirs], libs };
}

function probeNvidiaSmi(): DoctorReport['cuda']['nvidiaSmi'] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    const rows = out.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(',').map((s) => s.trim()));
    return { present: true, gpus: rows.map((r) => r[0]!), driver: rows[0]?.[1] };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return { present: false, gpus: [], error: 'nvidia-smi not found on PATH (no NVIDIA driver installed?)' };
    return { present: true, gpus: [], error: String((err as Error).message).split('\n')[0] };
  }
}

function probeLibtensorflow(): DoctorReport['tfjsNode'] {
  const dir = packageDir(PACKAGES.tensorflow) ?? packageDir(PACKAGES['tensorflow-gpu']);
  if (!dir) return { installed: false, libtensorflowDir: null, libtensorflow: {}, binding: null };
  const libDir = path.join(dir, 'deps', 'lib');
  const files = ['libtensorflow.so.2', 'libtensorflow_framework.so.2'];
  const libtensorflow = Object.fromEntries(files.map((f) => [f, existsSync(path.join(libDir, f))]));
  let binding: string | null = null;
  const libRoot = path.join(dir, 'lib');
  try {
    for (const sub of readdirSync(libRoot)) {
      const p = path.join(libRoot, sub, 'tfjs_binding.node');
      if (existsSync(p)) binding = p;
    }
  } catch {
    binding = null;
  }
  return { installed: true, libtensorflowDir: libDir, libtensorflow, binding };
}

export async function runDoctor(): Promise<DoctorReport> {
  const tf = await import('@tensorflow/tfjs');
  const cuda = { nvidiaSmi: probeNvidiaSmi(), ...probeCudaLibs() };
  const tfjsNode = probeLibtensorflow();
  const backends: BackendStatus[] = [];
  for (const name of ALL_BACKEND_NAMES) {
    const pkg = PACKAGES[name];
    const dir = packageDir(pkg);
    const st: BackendStatus = { name, package: pkg, installed: dir != null, version: packageVersion(dir), loads: false };
    if (name === 'webgpu') {
      // Dawn (the `webgpu` package) is the second half; the probe names whichever is missing.
      const dawn = packageDir(WEBGPU_PACKAGES.dawn);
      st.installed = dir != null && dawn != null;
      Object.assign(st, await probeWebGpu());
    } else if (!dir) st.reason = `${pkg} is not installed`;
    else if (name === 'tensorflow-gpu' || name === 'tensorflow') Object.assign(st, await probeNative(name));
    else {
      try {
        const info = await initBackend(name);
        st.loads = true;
        st.device = info.device;
      } catch (err) {
        st.reason = (err as Error).message;
      }
    }
    backends.push(st);
  }
  const report: DoctorReport = {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: `${os.cpus()[0]?.model?.trim() ?? os.arch()} (${os.cpus().length} cores)`,
    tfjsVersion: tf.version.tfjs,
    backends,
    auto: AUTO_ORDER.find((n) => backends.find((b) => b.name === n)?.loads) ?? null,
    tfjsNode,
    cuda,
    advice: [],
  };
  report.advice = advise(report);
  return report;
}

function advise(r: DoctorReport): string[] {
  const out: string[] = [];
  const gpu = r.backends.find((b) => b.name === 'tensorflow-gpu')!;
  const node = r.backends.find((b) => b.name === 'tensorflow')!;
  const missing = r.cuda.libs.filter((l) => l.found.length === 0);
  if (!gpu.loads) {
    if (!r.cuda.nvidiaSmi.present) out.push('tensorflow-gpu: no NVIDIA driver (nvidia-smi missing); a GPU backend is not possible on this machine.');
    if (missing.length) {
      const newer = missing.filter((l) => l.otherVersions.length);
      out.push(`tensorflow-gpu: tfjs-node-gpu 4.22 needs CUDA 11.2 + cuDNN 8.1; missing: ${missing.map((l) => l.soname).join(', ')}.`);
      if (newer.length) {
        out.push(`tensorflow-gpu: other CUDA versions are installed (${newer.map((l) => path.basename(l.otherVersions[0]!)).join(', ')}), but tfjs-node-gpu only loads the exact 11.x/8.x sonames. Install the CUDA 11.2 runtime and cuDNN 8.1 side by side and put their lib64 folders on LD_LIBRARY_PATH.`);
      }
    }
    if (!gpu.installed) out.push('tensorflow-gpu: install with `npm install @tensorflow/tfjs-node-gpu@4.22.0` (its install step downloads libtensorflow; it needs network access).');
  }
  if (!node.loads) {
    if (!node.installed) out.push('tensorflow: install with `npm install @tensorflow/tfjs-node@4.22.0` (downloads libtensorflow during install).');
    else if (r.tfjsNode.installed && Object.values(r.tfjsNode.libtensorflow).some((v) => !v)) {
      out.push(`tensorflow: libtensorflow is missing from ${r.tfjsNode.libtensorflowDir}; its install-time download failed. Rerun \`npm rebuild @tensorflow/tfjs-node\` with network access.`);
    }
  }
  const webgpu = r.backends.find((b) => b.name === 'webgpu')!;
  if (!webgpu.loads) {
    if (!webgpu.installed) out.push(`webgpu: install with \`${WEBGPU_INSTALL}\` (tfjs-backend-webgpu and Dawn for Node, ~130 MB; no network beyond npm needed). Without a GPU, Mesa's lavapipe runs it on the CPU: see README, Backends.`);
  } else if (webgpu.adapter?.software) {
    out.push('webgpu: the adapter is a software one (the CPU runs the shaders): correct, and useful for tests, but slower than wasm here; --backend webgpu uses it, auto does not.');
  }
  if (r.auto === 'wasm') out.push('auto picks wasm: WebAssembly SIMD on one thread, with acnn\'s replacement gradient kernels.');
  return out;
}

export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`acnn doctor — Node ${r.node}, ${r.platform}`, `CPU: ${r.cpu}`, `@tensorflow/tfjs ${r.tfjsVersion}`, '');
  lines.push(`Backends (--backend auto tries ${AUTO_ORDER.join(', ')}; webgpu only by name):`);
  for (const b of r.backends) {
    const mark = b.loads ? 'ok  ' : 'no  ';
    const ver = b.version ? `@${b.version}` : '';
    lines.push(`  ${mark}${b.name.padEnd(15)} ${b.package}${ver}  ${b.loads ? b.device ?? 'loads' : b.reason ?? ''}`);
  }
  lines.push(`  auto -> ${r.auto ?? 'none'}`, '');
  const t = r.tfjsNode;
  lines.push(`tfjs-node: ${t.installed ? `installed; libtensorflow in ${t.libtensorflowDir}: ${Object.entries(t.libtensorflow).map(([f, ok]) => `${f} ${ok ? 'present' : 'MISSING'}`).join(', ')}; binding ${t.binding ?? 'MISSING'}` : 'not installed'}`, '');
  const smi = r.cuda.nvidiaSmi;
  lines.push(`NVIDIA driver: ${smi.present ? (smi.gpus.length ? `${smi.gpus.join(', ')} (driver ${smi.driver})` : `nvidia-smi present but failed: ${smi.error}`) : smi.error}`);
  lines.push('CUDA libraries tfjs-node-gpu 4.22 loads (CUDA 11.2, cuDNN 8.1):');
  for (const l of r.cuda.libs) {
    const where = l.found.length ? `found ${l.found[0]}` : 'MISSING';
    const other = l.otherVersions.length ? `  (found instead: ${l.otherVersions.join(', ')})` : '';
    lines.push(`  ${l.soname.padEnd(20)} ${where}${other}`);
  }
  lines.push(`  searched: ${r.cuda.searched.join(', ')}`);
  if (r.advice.length) lines.push('', ...r.advice.map((a) => `* ${a}`));
  return lines.join('\n');
}
