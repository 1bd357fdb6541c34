/**
 * Where runs start: `model.pretrained: imagenet` through the weights cache (missing -> exit 2
 * before training, naming the command), layers loaded / skipped recorded in meta.json, and
 * fine-tuning from another run (`model.init`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';

const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

function spec(dir: string, name: string, model: string, extra = ''): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
datasets:
  synthetic: {format: synthetic, train: 24, test: 12, seed: 3, imageSize: 32}
model: ${model}
train:
  data: [{dataset: synthetic, split: train}]
  occlusion: {ratio: 0}
  lr: 0.01
  batchSize: 6
  iterations: 2
  logEvery: 1
test:
  clean: {dataset: synthetic, split: test}
${extra}`,
  );
  return file;
}

describe('acnn run: pretrained weights and fine-tuning', function () {
  this.timeout(240_000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-init-'));
  const home = path.join(work, 'home');
  const results = path.join(work, 'results');
  const cache = path.join(work, 'cache');
  const env = { ACNN_HOME: home };
  const run = (file: string, more: string[] = []) => runCli(['run', file, '--backend', 'wasm', '--results', results, '--cache', cache, '--json', ...more], { env, timeoutMs: 200_000 });

  it('configs/table2.yaml asks for imagenet; without the weights acnn run stops before training and names the command', async () => {
    const render = await runCli(['render', 'configs/table2.yaml'], { env });
    assert.equal(render.code, 0, render.stderr);
    assert.match(render.stdout, /^ {2}pretrained: imagenet$/m);
    const r = await runCli(['run', 'configs/table2.yaml', '--results', results, '--cache', cache], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /model\.pretrained: imagenet needs torchvision's ImageNet weights for vgg16 \(vgg16_bn-6c64b313\.pth\), which are not installed in .*home\/weights\.\nRun: acnn weights get vgg16_bn/);
    assert.equal(existsSync(path.join(results, 'table2')), false, 'nothing was started');
  });

  it('imagenet resolves to an imported copy; loaded and skipped layers are recorded in meta.json', async () => {
    const imp = await runCli(['weights', 'import', 'test/fixtures/weights/vgg16_bn-w32.pth'], { env });
    assert.equal(imp.code, 0, imp.stderr);
    const file = spec(work, 'pre', '{backbone: vgg16, variant: base, inputSize: 32, width: 0.03125, pretrained: imagenet}');
    const r = await run(file);
    assert.equal(r.code, 0, r.stderr);
    const [id] = readdirSync(path.join(results, 'pre')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    const meta = JSON.parse(readFileSync(path.join(results, 'pre', id, 'meta.json'), 'utf8'));
    const p = meta.init.pretrained;
    assert.equal(p.source, 'imagenet');
    assert.match(p.file, /home\/weights\/vgg16_bn-[0-9a-f]{8}\.pth$/);
    assert.match(p.sha256, /^[0-9a-f]{64}$/);
    assert.ok(p.loaded.includes('conv1_1') && p.loaded.includes('conv5_3') && p.loaded.includes('fc7'));
    assert.deepEqual(p.skipped.map((s: { layer: string }) => s.layer), ['fc6']);
    assert.match(p.skipped[0].reason, /7x7 map of a 224 input, model\.inputSize is 32/);
    assert.deepEqual(p.fresh, ['fc8']);
    const notes = events(r.stdout).filter((e) => e.type === 'note').map((e) => e.message as string);
    assert.ok(notes.some((n) => /initialised from imagenet .*: 14 layers loaded, 1 new/.test(n)), notes.join('\n'));
    assert.ok(notes.some((n) => /skipped fc6: /.test(n)));
  });

  it('model.init starts from another spec\'s finished run; an unfinished one stops the run, naming it', async () => {
    const baseFile = spec(work, 'source', '{backbone: vgg16, variant: pacnn, inputSize: 32, width: 0.125}');
    const tuneFile = spec(work, 'tune', `{backbone: vgg16, variant: pacnn, inputSize: 32, width: 0.125, init: {spec: ${baseFile}, where: {model.variant: pacnn}}}`);
    const early = await run(tuneFile);
    assert.equal(early.code, 2, early.stderr);
    assert.match(early.stderr, /model\.init: .*source\.yaml where \{"model\.variant":"pacnn"\} is run [0-9a-f]{10}, which has not finished \(not started .*\)\.\nRun: acnn run .*source\.yaml --only [0-9a-f]{10}/);
    const first = await run(baseFile);
    assert.equal(first.code, 0, first.stderr);
    const tuned = await run(tuneFile);
    assert.equal(tuned.code, 0, tuned.stderr);
    const [id] = readdirSync(path.join(results, 'tune')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    const meta = JSON.parse(readFileSync(path.join(results, 'tune', id, 'meta.json'), 'utf8'));
    assert.match(meta.init.checkpoint.source, /source\.yaml#[0-9a-f]{10}$/);
    const bad = await runCli(['validate', spec(work, 'both', `{pretrained: imagenet, init: {checkpoint: ${results}}}`)]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /both\.yaml:\d+:\d+: model\.pretrained: model\.init already gives every weight: set model\.pretrained: null/);
  });
});
