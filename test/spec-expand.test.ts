// The spec API in-process: composition, expansion, run ids, sweeps, and the generated types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadSpec, expandRuns, expandSweep, runId, SpecError } from '../src/spec/index.js';
import { MINI, specError, tmpSpec } from './helpers/spec.js';

const F = 'test/fixtures/specs';

describe('spec API', function () {
  this.timeout(30_000);

  it('run ids do not change with key order or written-out defaults', async () => {
    const a = expandRuns(await loadSpec(`${F}/good.yaml`));
    const b = expandRuns(await loadSpec(`${F}/good-reordered.yaml`));
    assert.equal(a.length, 8);
    assert.deepEqual(
      a.map((r) => r.id),
      b.map((r) => r.id),
    );
    assert.equal(runId(a[0].config), a[0].id);
    assert.match(a[0].id, /^[0-9a-f]{10}$/);
    assert.equal(new Set(a.map((r) => r.id)).size, 8);
  });

  it('a changed value changes the id', async () => {
    const a = expandRuns(await loadSpec(`${F}/good.yaml`));
    const b = expandRuns(await loadSpec(`${F}/good.yaml`, { set: ['train.iterations=21'] }));
    assert.notEqual(a[0].id, b[0].id);
  });

  it('runs x matrix x zip x seeds compose; differs names what varies', async () => {
    const f = tmpSpec(`${MINI}runs:
  - {tags: {row: a}, set: {model.variant: pcnn}}
  - {tags: {row: b}, set: {model.variant: gcnn, model.dlp.k: 4}}
matrix: {model.width: [0.25, 0.5, 1], train.occlusion.ratio: [0, 0.5]}
zip: {train.lr: [0.1, 0.01], train.batchSize: [8, 16]}
seeds: [1, 2]
`);
    const runs = expandRuns(await loadSpec(f));
    assert.equal(runs.length, 2 * 3 * 2 * 2 * 2);
    assert.deepEqual(runs[0].config.tags, { row: 'a' });
    assert.equal(runs[runs.length - 1].config.tags.row, 'b');
    assert.equal(runs[runs.length - 1].config.model.dlp.k, 4);
    assert.deepEqual(Object.keys(runs[0].differs).sort(), ['model.dlp.k', 'model.variant', 'model.width', 'tags.row', 'train.batchSize', 'train.lr', 'train.occlusion.ratio', 'train.seed']);
    const pairs = new Set(runs.map((r) => `${r.config.train.lr}/${r.config.train.batchSize}`));
    assert.deepEqual([...pairs].sort(), ['0.01/16', '0.1/8']);
  });

  it('zip axes of different lengths are an error at the axis', async () => {
    const f = tmpSpec(`${MINI}zip: {train.lr: [0.1, 0.01], train.batchSize: [8]}\n`);
    const e = await specError(loadSpec(f));
    assert.match(e.message, /spec\.yaml:8:\d+: zip\.train\.batchSize: zip axes must have equal lengths/);
  });

  it('a matrix value that is invalid is reported at that value', async () => {
    const f = tmpSpec(`${MINI}matrix: {model.variant: [base, gacn]}\n`);
    const loaded = await loadSpec(f);
    let err: unknown;
    try {
      expandRuns(loaded);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SpecError);
    assert.match(err.message, /spec\.yaml:8:32: model\.variant: expected one of .*\(did you mean "gacnn"\?\)/);
  });

  it('an unknown matrix key gets a did-you-mean', async () => {
    const f = tmpSpec(`${MINI}matrix: {model.varaint: [base]}\n`);
    const e = await specError(loadSpec(f));
    assert.match(e.message, /spec\.yaml:8:10: matrix\.model\.varaint: unknown key "varaint" in model \(did you mean "model\.variant"\?\)/);
  });

  it('extends merges maps, replaces lists, and honours !append / !replace', async () => {
    const l = await loadSpec(`${F}/child-replace.yaml`);
    assert.equal(l.name, 'child-replace'); // name is not inherited
    assert.equal(l.spec.model.inputSize, 64); // merged from base
    assert.equal(l.spec.model.variant, 'pcnn');
    assert.equal(l.spec.train.data.length, 2); // !append
    assert.equal(l.spec.train.occlusion.ratio, 0.25);
    assert.deepEqual(l.spec.train.occlusion.size, [96, 128]); // !replace dropped the base's size, default back
    assert.deepEqual(Object.keys(l.spec.test), ['only']);
  });

  it('env with defaults, typed references, --set with typed values', async () => {
    const f = tmpSpec(`datasets:
  raf: {format: rafdb, root: "\${env:ACNN_T_ROOT,/data/raf}"}
model: {width: "\${env:ACNN_T_WIDTH}"}
train:
  data: [{dataset: raf, split: train}]
  iterations: 10
  lr: 0.02
  warmup: "\${train.iterations}"
test:
  clean: {dataset: raf, split: test, occlusion: {protocol: eyes, seed: "\${train.seed}"}}
  named: {dataset: raf, split: "split-\${train.iterations}"}
`);
    const l = await loadSpec(f, { env: { ACNN_T_WIDTH: '0.5' }, set: ['train.lr=0.5', 'model.dlp.lpLoss=true', 'train.occlusion.size=[10, 20]'] });
    assert.equal(l.spec.datasets.raf.root, '/data/raf');
    assert.equal(l.spec.model.width, 0.5);
    assert.equal(l.spec.train.warmup, 10);
    assert.equal(l.spec.test.clean.occlusion?.seed, 1); // a reference to a defaulted key
    assert.equal(l.spec.test.named.split, 'split-10');
    assert.equal(l.spec.train.lr, 0.5);
    assert.equal(l.spec.model.dlp.lpLoss, true);
    assert.deepEqual(l.spec.train.occlusion.size, [10, 20]);
    const bad = await specError(loadSpec(f, { env: {} }));
    assert.match(bad.message, /spec\.yaml:3:16: model\.width: environment variable ACNN_T_WIDTH is not set/);
  });

  it('bad references and reference cycles are clear errors', async () => {
    const f = tmpSpec(`${MINI}name: refs\ndescription: "\${train.lrr}"\n`.replace('iterations: 10', 'iterations: 10\n  warmup: "${train.seed}"\n  seed: "${train.warmup}"'));
    const e = await specError(loadSpec(f));
    assert.match(e.message, /description: bad reference \$\{train\.lrr\}: no key train\.lrr in the spec \(did you mean "train\.lr"\?\)/);
    assert.match(e.message, /reference cycle/);
  });

  it('a --set value of the wrong type is reported against the --set', async () => {
    const e = await specError(loadSpec(`${F}/good.yaml`, { set: ['train.batchSize=many'] }));
    assert.match(e.message, /--set train\.batchSize=many: train\.batchSize: expected an integer, found string "many"/);
  });

  it('table rows/columns: unknown where keys, bad values and paper names are caught', async () => {
    const f = tmpSpec(`${MINI}table:
  id: t
  rows: [{name: A, where: {model.variant: pacn}}, {name: B, where: {model.varient: base}}]
  columns: [{name: clean, metric: clen.accuracy}]
  paper: {A: {clean: 1}, C: {cleen: 2}}
`);
    const e = await specError(loadSpec(f));
    assert.match(e.message, /table\.rows\.0\.where\.model\.variant: expected one of .*\(did you mean "pacnn"\?\)/);
    assert.match(e.message, /table\.rows\.1\.where\.model\.varient: unknown key "varient" in model/);
    assert.match(e.message, /table\.columns\.0\.metric: metric "clen\.accuracy" names no test set "clen" \(did you mean "clean"\?\)/);
    assert.match(e.message, /table\.paper\.C: no row named "C"/);
    assert.match(e.message, /table\.paper\.C\.cleen: no column named "cleen" \(did you mean "clean"\?\)/);
  });

  it('expandSweep: grid x random x seeds, reproducible, plus --grid', async () => {
    const f = tmpSpec(`${MINI}sweep:
  grid: {model.width: [0.25, 0.5]}
  seeds: [1, 2]
  random:
    trials: 3
    seed: 42
    params:
      train.lr: {distribution: loguniform, low: 0.0001, high: 0.1}
      model.dlp.k: {distribution: int, low: 2, high: 16}
      model.variant: {distribution: choice, values: [pacnn, gacnn]}
  objective: {metric: clean.accuracy, mode: max}
`);
    const l = await loadSpec(f);
    const a = expandSweep(l);
    const b = expandSweep(await loadSpec(f));
    assert.equal(a.length, 2 * 3 * 2);
    assert.deepEqual(
      a.map((r) => r.id),
      b.map((r) => r.id),
    );
    for (const r of a) {
      assert.ok(r.config.train.lr >= 0.0001 && r.config.train.lr <= 0.1);
      assert.ok(Number.isInteger(r.config.model.dlp.k) && r.config.model.dlp.k >= 2 && r.config.model.dlp.k <= 16);
    }
    const c = expandSweep(l, { grid: ['model.width=0.25,0.5,1', 'train.batchSize=8,32'] });
    assert.equal(c.length, 3 * 2 * 3 * 2);
    const e = await specError(Promise.resolve().then(() => expandSweep(l, { grid: ['train.lrate=0.1,0.2', 'train.lr='] })));
    assert.match(e.message, /--grid train\.lrate=0\.1,0\.2: train\.lrate: unknown key "lrate" in train/);
    assert.match(e.message, /--grid train\.lr=: train\.lr: expected at least one value, found an empty range/);
  });

  it('the generated types match the schema', async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { generateSpecTypes, outputPath } = (await import('../scripts/gen-spec-types.mjs')) as { generateSpecTypes: () => Promise<string>; outputPath: string };
    const fresh = await generateSpecTypes();
    assert.equal(readFileSync(outputPath, 'utf8'), fresh, 'src/spec/types.generated.ts is stale: run npm run gen:types');
  });
});
