/** Fold selection (Table III protocol b): train on every fold but `hold`, test on `hold`, and no leak. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandRuns, loadSpec } from '../src/spec/index.js';
import { DataCache, prepareRunData } from '../src/train/prepare-data.js';
import { UserError } from '../src/util/errors.js';

describe('runner: fold selection', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'acnn-folds-'));
  const cache = new DataCache(join(dir, 'cache'));
  const spec = (testHold: string) => {
    const f = join(dir, `folds-${testHold}.yaml`);
    writeFileSync(
      f,
      `datasets:
  s: {format: synthetic, train: 50, test: 10, seed: 2, imageSize: 32}
model: {inputSize: 32, width: 0.125}
train:
  data: [{dataset: s, split: train, folds: {k: 5, groupBy: none, seed: 3, hold: 0}}]
  iterations: 1
test:
  held: {dataset: s, split: train, folds: {k: 5, groupBy: none, seed: 3, hold: ${testHold}}}
  whole: {dataset: s, split: test, folds: {k: 2, groupBy: none}}
`,
    );
    return f;
  };

  it('trains on 4 of 5 folds and tests on the fifth: disjoint, together the whole split', async () => {
    const [run] = expandRuns(await loadSpec(spec('"${train.data.0.folds.hold}"')));
    const data = await prepareRunData(run.config, cache);
    const train = new Set(data.train.samples.map((s) => s.id));
    const held = data.tests.held.samples.map((s) => s.id);
    assert.equal(train.size, 40);
    assert.equal(held.length, 10);
    assert.ok(held.every((id) => !train.has(id)));
    assert.equal(data.tests.held.folds, undefined, 'a held-out fold is one plain set');
    assert.equal(data.tests.whole.folds, 2, 'a whole K-fold set reports per-fold accuracies');
  });

  it('a test fold the training data also reads stops the run before training', async () => {
    const [run] = expandRuns(await loadSpec(spec('1')));
    await assert.rejects(prepareRunData(run.config, cache), (e: Error) => e instanceof UserError && /test\.held shares 10 of its 10 samples with the training data/.test(e.message));
  });
});

describe('runner: test metrics', () => {
  it('summariseTest gives accuracy, mean class accuracy, loss and fold statistics', async () => {
    const { summariseTest } = await import('../src/train/metrics.js');
    const r = summariseTest([0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 1, 1], [0.5, 1, 1.5, 2, 0, 1], 7, { of: [0, 0, 1, 1, 2, 2], k: 3 });
    assert.equal(r.accuracy, 4 / 6);
    assert.equal(r.meanClassAccuracy, (1 + 0.5 + 0) / 3, 'classes absent from the set do not count');
    assert.equal(r.loss, 1);
    assert.deepEqual(r.folds?.accuracies, [1, 0.5, 0.5]);
    assert.equal(r.folds?.mean, 2 / 3);
    assert.ok(Math.abs(r.folds!.std - Math.sqrt(((1 / 3) ** 2 + 2 * (1 / 6) ** 2) / 2)) < 1e-12);
  });
});
