// Backend selection, `acnn doctor` and the kernel benchmark.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { AUTO_ORDER, initBackend, BackendUnavailableError } from '../src/engine/backend.js';
import { REPLACED_KERNELS } from '../src/engine/wasm-kernels.js';
import { skipBecause } from './helpers/skip.js';
import { probeCudaLibs, REQUIRED_CUDA_LIBS, type DoctorReport } from '../src/engine/doctor.js';
import { benchKernels, formatKernelBench } from '../src/bench/kernels.js';
import { PACKAGE_ROOT } from '../src/util/package-info.js';

const run = promisify(execFile);

describe('engine: backend selection', function () {
  after(async () => {
    await initBackend('wasm');
  });

  it('auto takes the first backend of AUTO_ORDER that loads and says why each one before it did not', async () => {
    const info = await initBackend('auto');
    assert.equal(info.requested, 'auto');
    assert.equal(tf.getBackend(), info.tfjsBackend);
    assert.equal(info.tfjsVersion, tf.version.tfjs);
    const at = AUTO_ORDER.indexOf(info.name);
    assert.ok(at >= 0, info.name);
    for (const before of AUTO_ORDER.slice(0, at)) assert.ok(info.reasonsOthersFailed[before], `no reason why ${before} did not load`);
    for (const after of AUTO_ORDER.slice(at)) assert.equal(info.reasonsOthersFailed[after], undefined);
    // Each reason names the package that did not load.
    if (info.reasonsOthersFailed['tensorflow-gpu']) assert.match(info.reasonsOthersFailed['tensorflow-gpu'], /tfjs-node-gpu/);
    if (info.reasonsOthersFailed.tensorflow) assert.match(info.reasonsOthersFailed.tensorflow, /tfjs-node/);
    if (info.name === 'wasm') assert.match(info.device, /^WebAssembly( SIMD)?, \d+ threads?$/);
  });

  it('registers the replacement wasm kernels before returning', async () => {
    await initBackend('wasm');
    for (const k of REPLACED_KERNELS) {
      assert.ok(tf.getKernel(k, 'wasm'), k);
    }
  });

  it('switches to cpu and back; tensors made on one backend stay readable on the other', async () => {
    const info = await initBackend('cpu');
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    const t = tf.tensor([1, 2, 3]);
    await initBackend('wasm');
    const sq = tf.square(t);
    assert.deepEqual(Array.from(sq.dataSync()), [1, 4, 9]);
    tf.dispose([t, sq]);
  });

  it('an explicitly named backend that cannot load is an error naming the reason', async function () {
    const auto = await initBackend('auto');
    const missing = AUTO_ORDER.find((b) => auto.reasonsOthersFailed[b]);
    if (!missing) skipBecause(this, `every backend before ${auto.name} loads on this machine, so none can be asked for and fail`);
    await initBackend('wasm');
    await assert.rejects(initBackend(missing), (err: unknown) => err instanceof BackendUnavailableError && err.backend === missing && err.message.includes(auto.reasonsOthersFailed[missing]!));
    assert.equal(tf.getBackend(), 'wasm', 'a failed request leaves the previous backend active');
  });
});

describe('engine: acnn doctor', function () {
  it('finds CUDA libraries by soname and lists other versions', () => {
    const { libs, searched } = probeCudaLibs();
    assert.deepEqual(libs.map((l) => l.soname), [...REQUIRED_CUDA_LIBS]);
    assert.ok(searched.includes('ldconfig -p'));
    for (const l of libs) for (const p of l.otherVersions) assert.ok(!p.endsWith(`/${l.soname}`), p);
  });

  it('`acnn doctor --json` exits 0 with a report of every backend', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json'], { cwd: PACKAGE_ROOT, maxBuffer: 8 << 20 });
    const report = JSON.parse(stdout) as DoctorReport;
    // Every backend the doctor knows: the automatic order plus webgpu, which is asked for by name only.
    assert.deepEqual(report.backends.map((b) => b.name).sort(), [...AUTO_ORDER, 'webgpu'].sort());
    // The doctor (a probe per backend) and the runner's own selection agree on what auto takes here.
    assert.equal(report.auto, (await initBackend('auto')).name);
    for (const b of report.backends) assert.ok(b.loads || b.reason, `${b.name} neither loads nor says why: ${JSON.stringify(b)}`);
    // WebGPU: the adapter where Dawn finds one (CI: lavapipe), otherwise the reason.
    const webgpu = report.backends.find((b) => b.name === 'webgpu')!;
    if (webgpu.loads) {
      assert.ok(webgpu.adapter && webgpu.adapter.backend && webgpu.device, JSON.stringify(webgpu));
      console.log(`      webgpu: ${webgpu.device}`);
    } else {
      assert.match(webgpu.reason ?? '', webgpu.installed ? /adapter|Vulkan|device|failed/ : /not installed; install it with `npm run install:webgpu`/);
      console.log(`      webgpu unavailable: ${webgpu.reason}`);
    }
    await initBackend('wasm');
    assert.equal(report.cuda.libs.length, REQUIRED_CUDA_LIBS.length);
    assert.ok(report.advice.length > 0);
  });
});

describe('engine: kernel benchmark', function () {
  it('times every replacement kernel and prints a table', async () => {
    const rows = await benchKernels({ quick: true, reps: 1 });
    assert.deepEqual([...new Set(rows.map((r) => r.kernel))].sort(), ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Tile', 'UnsortedSegmentSum']);
    for (const r of rows) assert.ok(r.acnnWasmMs > 0 && r.cpuMs! > 0, JSON.stringify(r));
    assert.ok(rows.find((r) => r.kernel === 'Conv2DBackpropInput')!.stockWasmMs! > 0);
    assert.equal(rows.find((r) => r.kernel === 'Conv2DBackpropFilter')!.stockWasmMs, null);
    const table = formatKernelBench(rows);
    assert.match(table, /Conv2DBackpropFilter .* missing/);
    assert.equal(tf.getBackend(), 'wasm');
  });
});
