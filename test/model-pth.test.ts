/**
 * The PyTorch checkpoint reader against files torch itself wrote (test/fixtures/weights/make.py,
 * committed: CI has no torch), and ImageNet-style initialisation from them with named skips.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/engine/backend.js';
import { buildModel } from '../src/model/build.js';
import { loadPretrained } from '../src/model/pretrained.js';
import { encodeSafetensors } from '../src/model/safetensors.js';
import { readStateDict } from '../src/model/state-dict.js';
import { PickleError, unpickle, UnsafePickleError } from '../src/model/torch-pickle.js';
import type { ModelOptions } from '../src/model/types.js';

const FIX = path.join('test', 'fixtures', 'weights');
interface Expected {
  shape: number[];
  dtype: string;
  sum: number;
  first: number[];
}
const expected = JSON.parse(readFileSync(path.join(FIX, 'expected.json'), 'utf8')).files as Record<string, Record<string, Expected>>;

describe('model: PyTorch checkpoints (.pth)', () => {
  for (const file of Object.keys(expected)) {
    it(`reads ${file} as torch wrote it (names, shapes, values)`, async () => {
      const sd = await readStateDict(path.join(FIX, file));
      assert.deepEqual([...sd.keys()].sort(), Object.keys(expected[file]).sort());
      for (const [name, e] of Object.entries(expected[file])) {
        const t = sd.get(name)!;
        assert.deepEqual(t.shape, e.shape, name);
        assert.equal(t.data.length, e.shape.reduce((a, b) => a * b, 1), name);
        // float16 values are exact in float32; float32 ones too: compare the first values exactly.
        e.first.forEach((v, i) => assert.equal(t.data[i], Math.fround(v), `${name}[${i}]`));
        const sum = t.data.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - e.sum) <= 1e-4 * Math.max(1, Math.abs(e.sum)), `${name}: sum ${sum} vs ${e.sum}`);
      }
    });
  }

  it('refuses the hostile checkpoint (os.system in a __reduce__) without running it', async () => {
    const marker = '/tmp/acnn-hostile-pickle-ran';
    rmSync(marker, { force: true });
    await assert.rejects(readStateDict(path.join(FIX, 'hostile.pth')), (e: Error) => {
      assert.ok(e instanceof UnsafePickleError);
      assert.match(e.message, /hostile\.pth: refused: .*'posix\.system'.*must never run code/);
      return true;
    });
    assert.equal(existsSync(marker), false);
  });

  // Hand-written protocol-2 pickles: PROTO 2, ..., STOP.
  const pk = (...parts: (number[] | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
  it('refuses GLOBAL builtins.eval, STACK_GLOBAL os.system, INST and REDUCE on a storage type', () => {
    const evalCall = pk([0x80, 2], 'cbuiltins\neval\n', [0x58, 6, 0, 0, 0], "1+1==2", [0x85, 0x52, 0x2e]);
    assert.throws(() => unpickle(evalCall, 'a.pth'), (e: Error) => e instanceof UnsafePickleError && /a\.pth: refused: .*'builtins\.eval'/.test(e.message));
    const stackGlobal = pk([0x80, 4, 0x8c, 2], 'os', [0x8c, 6], 'system', [0x93, 0x2e]);
    assert.throws(() => unpickle(stackGlobal, 'b.pth'), /'os\.system'/);
    const inst = pk([0x80, 2, 0x28], 'iposix\nsystem\n', [0x2e]);
    assert.throws(() => unpickle(inst, 'c.pth'), (e: Error) => e instanceof UnsafePickleError && /posix\.system/.test(e.message));
    const reduceStorage = pk([0x80, 2], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]);
    assert.throws(() => unpickle(reduceStorage, 'd.pth'), /refused: .*'torch\.FloatStorage'/);
  });

  it('reads allowed pickles and reports truncation as not a checkpoint', () => {
    const od = pk([0x80, 2], 'ccollections\nOrderedDict\n', [0x29, 0x52, 0x58, 1, 0, 0, 0], 'k', [0x4b, 7, 0x73, 0x2e]);
    const r = unpickle(od, 'ok.pth');
    assert.deepEqual([...(r.value as Map<string, number>)], [['k', 7]]);
    assert.throws(() => unpickle(od.subarray(0, od.length - 3), 'cut.pth'), (e: Error) => e instanceof PickleError && /cut\.pth: not a readable PyTorch checkpoint/.test(e.message));
  });

  it('names a truncated legacy file and a file that is no checkpoint', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-pth-'));
    try {
      const full = readFileSync(path.join(FIX, 'vgg16_bn-w32-legacy.pth'));
      writeFileSync(path.join(dir, 'cut.pth'), full.subarray(0, full.length - 100));
      await assert.rejects(readStateDict(path.join(dir, 'cut.pth')), /cut\.pth: not a readable PyTorch checkpoint: .*truncated/);
      writeFileSync(path.join(dir, 'notes.txt'), 'hello');
      await assert.rejects(readStateDict(path.join(dir, 'notes.txt')), /notes\.txt: not a weights file acnn reads/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model: initialisation from torchvision checkpoints, with named skips', () => {
  before(async () => {
    await initBackend('cpu');
  });
  const vgg = path.join(FIX, 'vgg16_bn-w32.pth');
  const opts = (o: Partial<ModelOptions>): ModelOptions => ({ backbone: 'vgg16', variant: 'base', inputSize: 224, width: 1 / 32, numClasses: 7, dropout: 0, ...o });

  it('plain VGG16 at 224: trunk, conv4_3..conv5_3, fc6 and fc7 load; the class layer stays fresh', async () => {
    const m = buildModel(opts({}), 1);
    try {
      const r = await loadPretrained(m, vgg);
      assert.deepEqual(r.skipped, []);
      for (const l of ['conv1_1', 'conv4_2', 'conv5_3', 'fc6', 'fc7']) assert.ok(r.loaded.includes(l), l);
      assert.deepEqual(r.fresh, ['fc8']);
      const sd = await readStateDict(vgg);
      // conv: torch [O, I, H, W] -> ours [H, W, I, O]
      const k = m.namedVariables().get('conv3_2/kernel')!;
      const [H, W, I, O] = k.shape;
      const t = sd.get('features.17.weight')!.data;
      const got = k.dataSync();
      assert.equal(got[((2 * W + 1) * I + 3) * O + 5], t[((5 * I + 3) * H + 2) * W + 1]);
      // fc6: torch flattens C,H,W; ours H,W,C. Our input (h, w, c) = torch column c*49 + h*7 + w.
      const fc6 = m.namedVariables().get('fc6/kernel')!;
      const [In, Out] = fc6.shape;
      const C = In / 49;
      const src = sd.get('classifier.0.weight')!.data;
      const [h, w, c, o] = [3, 5, C - 1, Out - 2];
      assert.equal(fc6.dataSync()[((h * 7 + w) * C + c) * Out + o], src[o * In + c * 49 + h * 7 + w]);
      assert.deepEqual(Array.from(m.namedVariables().get('conv2_1/bn/moving_variance')!.dataSync()), Array.from(sd.get('features.8.running_var')!.data));
    } finally {
      m.dispose();
    }
  });

  it('VGG16 at 112: fc6 is skipped and named (7x7 map of a 224 input), the rest loads', async () => {
    const m = buildModel(opts({ inputSize: 112 }), 1);
    try {
      const r = await loadPretrained(m, vgg);
      assert.deepEqual(r.skipped.map((s) => s.layer), ['fc6']);
      assert.match(r.skipped[0].reason, /'classifier\.0\.weight' is \[128,784\].*7x7 map of a 224 input, model\.inputSize is 112/);
      assert.ok(r.loaded.includes('fc7'));
    } finally {
      m.dispose();
    }
  });

  it('gACNN loads the trunk and the global branch (legacy 2017-format file); pACNN the trunk only', async () => {
    const g = buildModel(opts({ variant: 'gacnn', inputSize: 64 }), 1);
    const p = buildModel(opts({ variant: 'pacnn', inputSize: 64 }), 1);
    try {
      const rg = await loadPretrained(g, path.join(FIX, 'vgg16_bn-w32-legacy.pth'));
      assert.deepEqual(rg.loaded, ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3', 'conv4_1', 'conv4_2', 'conv4_3', 'conv5_1', 'conv5_2']);
      assert.ok(rg.fresh.includes('roi24_att_fc2') && rg.fresh.includes('gg_fc') && rg.fresh.includes('head_fc2'));
      const rp = await loadPretrained(p, vgg);
      assert.equal(rp.loaded.at(-1), 'conv4_2');
      assert.deepEqual(rp.skipped, []);
    } finally {
      g.dispose();
      p.dispose();
    }
  });

  it('ResNet-18 from float16 zip and legacy files gives the same weights', async () => {
    const a = buildModel({ ...opts({ variant: 'gcnn', inputSize: 64 }), backbone: 'resnet18', width: 1 / 16 }, 1);
    const b = buildModel({ ...opts({ variant: 'gcnn', inputSize: 64 }), backbone: 'resnet18', width: 1 / 16 }, 2);
    try {
      const ra = await loadPretrained(a, path.join(FIX, 'resnet18-w16-f16.pth'));
      await loadPretrained(b, path.join(FIX, 'resnet18-w16-legacy.pth'));
      assert.ok(ra.loaded.includes('layer3.0.downsample') && ra.loaded.includes('conv1'));
      for (const name of ['layer2.1.conv2/kernel', 'layer3.0.downsample/bn/moving_mean']) {
        assert.deepEqual(Array.from(a.namedVariables().get(name)!.dataSync()), Array.from(b.namedVariables().get(name)!.dataSync()), name);
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('errors on a checkpoint that fits nothing (another width) or holds another backbone', async () => {
    const wide = buildModel(opts({ width: 1 / 16 }), 1);
    const vggModel = buildModel(opts({ inputSize: 64, variant: 'pacnn' }), 1);
    try {
      await assert.rejects(loadPretrained(wide, vgg), /fit no layer of vgg16 \(width 0\.0625, input 224\):\n {2}conv1_1: .*width is 0\.0625/);
      await assert.rejects(loadPretrained(vggModel, path.join(FIX, 'resnet18-w16.pth')), /are not a vgg16_bn checkpoint for model\.backbone vgg16: it holds resnet18 tensors/);
    } finally {
      wide.dispose();
      vggModel.dispose();
    }
  });

  it('reads timm names from .safetensors (pre_logits.fc1 as a 7x7 convolution is fc6)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-timm-'));
    const sd = await readStateDict(vgg);
    const timm: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of sd) {
      if (k === 'classifier.0.weight') timm['pre_logits.fc1.weight'] = { shape: [t.shape[0], t.shape[1] / 49, 7, 7], data: t.data };
      else if (k === 'classifier.0.bias') timm['pre_logits.fc1.bias'] = t;
      else if (k === 'classifier.3.weight') timm['pre_logits.fc2.weight'] = { shape: [...t.shape, 1, 1], data: t.data };
      else if (k === 'classifier.3.bias') timm['pre_logits.fc2.bias'] = t;
      else timm[k] = t;
    }
    writeFileSync(path.join(dir, 'timm.safetensors'), encodeSafetensors(timm));
    const a = buildModel(opts({}), 1);
    const b = buildModel(opts({}), 2);
    try {
      await loadPretrained(a, vgg);
      const r = await loadPretrained(b, path.join(dir, 'timm.safetensors'));
      assert.deepEqual(r.skipped, []);
      for (const name of ['fc6/kernel', 'fc7/kernel', 'conv5_3/bn/gamma']) {
        assert.deepEqual(Array.from(b.namedVariables().get(name)!.dataSync()), Array.from(a.namedVariables().get(name)!.dataSync()), name);
      }
    } finally {
      a.dispose();
      b.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
