// Execution plans: every crop x PG-unit strategy gives the same outputs and gradients on every
// backend that loads here, the plan is chosen per backend, and a spec's choice wins.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/engine/backend.js';
import { buildModel } from '../src/model/build.js';
import { small, stepInputs, stepOutputs } from './helpers/model-step.js';
import { CROP_IMPLS, PG_UNITS_IMPLS, EXECUTION_TABLE, cropAvailable, resolveExecution } from '../src/model/execution.js';
import type { Backbone, Variant } from '../src/model/types.js';

const TOL = 1e-5;

/**
 * Outputs (logits, alpha, loss) agree element-wise to TOL (relative to max(1, |value|)); the
 * gradients agree to TOL in relative L2 norm over all parameters together, ||g - w|| / ||w||.
 * Per-parameter comparison is meaningless for tensors that are zero up to rounding (conv biases
 * under batch norm), and strategies that reorder float32 sums (im2col vs native conv, scatter vs
 * slice gradients) differ by rounding that batch norm's batch statistics amplify.
 */
function assertSame(got: Map<string, Float32Array>, want: Map<string, Float32Array>, what: string): number {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: same outputs and gradients`);
  let diff = 0;
  let norm = 0;
  for (const [k, w] of want) {
    const g = got.get(k)!;
    if (k.startsWith('grad ')) {
      for (let i = 0; i < w.length; i++) {
        diff += (g[i]! - w[i]!) ** 2;
        norm += w[i]! ** 2;
      }
      continue;
    }
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs(g[i]! - w[i]!);
      if (!(d <= TOL * Math.max(1, Math.abs(w[i]!)))) assert.fail(`${what}: ${k}[${i}] = ${g[i]} vs ${w[i]}`);
    }
  }
  const rel = Math.sqrt(diff / norm);
  if (!(rel <= TOL)) assert.fail(`${what}: gradients differ by ${rel.toExponential(2)} (relative L2 over all parameters) > ${TOL}`);
  return rel;
}

describe('execution plan: choice per backend', function () {
  it('auto takes the measured table entry; the spec overrides each part; unknown backends get no read-back', () => {
    assert.deepEqual(resolveExecution('wasm'), { ...EXECUTION_TABLE.wasm!.plan, backend: 'wasm', source: { crop: 'auto', pgUnits: 'auto' }, readsAreFree: true });
    const r = resolveExecution('wasm', { crop: 'ops', pgUnits: 'auto' });
    assert.equal(r.crop, 'ops');
    assert.equal(r.pgUnits, EXECUTION_TABLE.wasm!.plan.pgUnits);
    assert.deepEqual(r.source, { crop: 'spec', pgUnits: 'auto' });
    const other = resolveExecution('tensorflow');
    assert.notEqual(other.crop, 'host');
    assert.equal(other.readsAreFree, false);
    for (const [backend, e] of Object.entries(EXECUTION_TABLE)) {
      if (!e.readsAreFree) assert.notEqual(e.plan.crop, 'host', `${backend}: the host crop reads the feature map back`);
      assert.ok(e.measured.length > 0, `${backend}: the choice is backed by measurements`);
    }
    assert.throws(() => resolveExecution('wasm', { crop: 'nearest' as never }), /execution\.crop must be auto, host, ops, gather/);
    assert.throws(() => resolveExecution('webgpu', { crop: 'host' }), /crop 'host' reads the feature map back synchronously, which the webgpu backend cannot do in Node/);
  });
});

for (const backend of ['cpu', 'wasm', 'webgpu'] as BackendName[]) {
  describe(`execution plan: strategies agree on '${backend}'`, function () {
    // Six strategies of one training step each: about a minute on the plain JS backend and on
    // lavapipe when the machine is idle, several when it is shared.
    this.timeout(900_000);
    before(async function () {
      try {
        await initBackend(backend);
      } catch (err) {
        // Only an optional backend may be missing; the reason goes into the test output.
        if (backend !== 'webgpu') throw err;
        console.log(`      skipped: the webgpu backend does not load here: ${(err as Error).message}`);
        this.skip();
      }
    });
    after(async () => {
      await initBackend('wasm');
    });

    it('a model built here takes this backend\'s plan', () => {
      const m = buildModel(small('vgg16', 'pacnn'), 1);
      try {
        assert.equal(m.execution.backend, tf.getBackend());
        assert.deepEqual(m.execution, resolveExecution(tf.getBackend()));
        assert.equal(m.options.crop, m.execution.crop);
      } finally {
        m.dispose();
      }
    });

    // gACNN has every part a strategy touches (crop, gated PG-units, global branch); ResNet's
    // trunk adds residual blocks. On webgpu (lavapipe compiles a shader per new shape: ~1 min a
    // case) the VGG case alone.
    const cases: [Backbone, Variant][] = backend === 'webgpu' ? [['vgg16', 'gacnn']] : [['vgg16', 'gacnn'], ['resnet18', 'pacnn']];
    for (const [bb, variant] of cases) {
      it(`${bb} ${variant}: outputs and gradients of every crop x PG-unit strategy agree to ${TOL}`, async () => {
        // Batch 4: at batch 2 the attention FC's batch norm normalises two values to +-1, and
        // its gradient turns float32 rounding into 1e-3 differences even between backends.
        const B = 4;
        const data = stepInputs(32, B, 12345, 8);
        let ref: Map<string, Float32Array> | undefined;
        let worst = 0;
        const crops = CROP_IMPLS.filter((c) => cropAvailable(tf.getBackend(), c));
        if (crops.length < CROP_IMPLS.length) console.log(`      not on ${tf.getBackend()}: crop ${CROP_IMPLS.filter((c) => !crops.includes(c)).join(', ')} (needs synchronous reads)`);
        for (const pgUnits of PG_UNITS_IMPLS) {
          for (const crop of crops) {
            const got = await stepOutputs(small(bb, variant, { crop, pgUnits }), data, B, 5);
            // The crop is exercised: patches with content reach the first unit convolutions.
            assert.ok([...got].some(([k, g]) => /^grad roi\d+_conv1\/kernel$/.test(k) && g.some((v) => v !== 0)), 'the patch units see the map');
            if (!ref) ref = got;
            else worst = Math.max(worst, assertSame(got, ref, `${pgUnits}/${crop} vs ${PG_UNITS_IMPLS[0]}/${crops[0]}`));
          }
        }
        console.log(`      largest gradient difference: ${worst.toExponential(2)} (relative L2)`);
      });
    }
  });
}
