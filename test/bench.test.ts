// `npm run bench` smoke test: the quick JSON mode on one tiny size on wasm. Timings are not asserted.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { parseBenchArgs, BenchArgError } from '../src/bench/main.js';
import { runBench, type BenchResult } from '../src/bench/run.js';
import { formatBench } from '../src/bench/format.js';
import { profileTrainStep, modelOptions } from '../src/bench/model-bench.js';
import { runTorch } from '../src/bench/torch.js';
import { describeModel } from '../src/model/arch.js';
import { skipBecause } from './helpers/skip.js';

describe('bench (npm run bench)', function () {
  this.timeout(60_000);
  after(async () => {
    await initBackend('wasm');
  });

  it('parses its options; --quick narrows the plan; bad values are refused', () => {
    const q = parseBenchArgs(['--quick', '--json', '--backend', 'wasm', '--sizes', '32', '--batch', '2', '--no-torch']);
    assert.equal(q.json, true);
    assert.deepEqual(q.options.backends, ['wasm']);
    assert.deepEqual(q.options.sizes, [32]);
    assert.equal(q.options.batch, 2);
    assert.equal(q.options.torch, false);
    assert.equal(q.options.full, false);
    assert.deepEqual(q.options.profile, []);
    const full = parseBenchArgs([]);
    assert.deepEqual(full.options.variants, ['base', 'pcnn', 'pacnn', 'gcnn', 'gacnn', 'dlpcnn']);
    assert.deepEqual(full.options.sizes, [112, 64]);
    assert.equal(full.options.full, true);
    assert.deepEqual(full.options.torchThreads, [1, 2]);
    assert.throws(() => parseBenchArgs(['--variants', 'vgg']), BenchArgError);
    assert.throws(() => parseBenchArgs(['--sizes', '16']), BenchArgError);
    assert.throws(() => parseBenchArgs(['--backend', 'webgl']), BenchArgError);
  });

  it('--quick --json on wasm at input 32: JSON shape and positive throughputs', async () => {
    const { options } = parseBenchArgs(['--quick', '--json', '--backend', 'wasm', '--sizes', '32', '--batch', '2', '--variants', 'base,pacnn', '--width', '0.125', '--warmup', '0', '--iters', '1', '--no-torch']);
    const before = tf.memory().numTensors;
    const result: BenchResult = JSON.parse(JSON.stringify(await runBench(options)));
    assert.equal(tf.memory().numTensors, before, 'the bench leaks no tensors');
    assert.equal(typeof result.machine.cpu, 'string');
    assert.ok(result.machine.cores >= 1);
    assert.equal(result.machine.loadStart.length, 3);
    assert.deepEqual(result.backends.map((b) => [b.name, b.available]), [['wasm', true]]);
    assert.equal(result.results.length, 4); // 2 variants x (train, infer)
    for (const r of result.results) {
      assert.equal(r.backend, 'wasm');
      assert.equal(r.inputSize, 32);
      assert.equal(r.batch, 2);
      assert.ok(['train', 'infer'].includes(r.mode));
      assert.ok(r.medianMs > 0 && r.imagesPerSec > 0 && r.cpuMedianMs >= 0, JSON.stringify(r));
      assert.equal(r.timesMs.length, 1);
      assert.ok(r.params > 0 && r.gflopsPerImage > 0);
    }
    assert.equal(result.torch.enabled, false);
    assert.equal(result.ratios.length, 4);
    assert.ok(result.ratios.every((r) => r.ratio1 === null));
    assert.equal(result.target.met, null);
    assert.equal(result.kernels, null);
    const text = formatBench(result);
    assert.match(text, /Training step on wasm/);
    assert.match(text, /Inference on wasm/);
    assert.match(text, /PyTorch: not run/);
  });

  it('profiles a training step kernel by kernel and restores the kernels', async () => {
    const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
    const p = await profileTrainStep({ backbone: 'vgg16', variant: 'base', inputSize: 32, width: 0.125, batch: 2, warmup: 1 });
    assert.equal(tf.getKernel('Conv2D', 'wasm')!.kernelFunc, conv, 'original kernels are back');
    assert.ok(p.stepMs > 0);
    const names = new Set(p.rows.map((r) => r.kernel));
    for (const k of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']) assert.ok(names.has(k), k);
    const fwd = p.rows.find((r) => r.kernel === 'Conv2D' && r.phase === 'forward')!;
    assert.ok(fwd.gflop! > 0);
    const inside = p.kernelMs.forward + p.kernelMs.backward + p.kernelMs.update;
    assert.ok(inside <= p.stepMs + 1);
  });

  it('the PyTorch twin has the same parameter counts as describeModel (skipped without torch)', async function () {
    // Importing torch alone takes tens of seconds on a loaded 2-core machine.
    this.timeout(300_000);
    const variants = ['base', 'pcnn', 'pacnn', 'gcnn', 'gacnn', 'dlpcnn'] as const;
    const cases = variants.flatMap((variant) =>
      [112].map((inputSize) => ({ variant, inputSize, width: 0.25, batch: 2, mode: 'train' as const, warmup: 0, iters: 1 })),
    );
    const run = await runTorch(cases, [1], undefined, 240_000, true);
    if (!run.available) skipBecause(this, `PyTorch is not available: ${run.reason ?? 'no output'}`);
    assert.deepEqual(run.errors, []);
    assert.equal(run.results.length, cases.length);
    for (const r of run.results) {
      const want = describeModel(modelOptions({ backbone: 'vgg16', variant: r.variant as (typeof variants)[number], inputSize: r.inputSize, width: r.width })).totalParams;
      assert.equal(r.params, want, `${r.variant} ${r.inputSize}`);
    }
  });
});
