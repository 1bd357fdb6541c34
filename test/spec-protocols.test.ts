/** Spec checks added for the paper's protocols: metrics evaluation produces, folds, DLP neighbours, model.init. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandRuns, loadSpec, SpecError } from '../src/spec/index.js';
import { METRICS } from '../src/rundir/index.js';

const dir = mkdtempSync(join(tmpdir(), 'acnn-protocols-'));
function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
async function problems(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    return err.message;
  }
  assert.fail('expected a spec error');
}

const base = `datasets:
  s: {format: synthetic, train: 40, test: 20}
train:
  data: [{dataset: s, split: train}]
  iterations: 1
test:
  clean: {dataset: s, split: test}
  folded: {dataset: s, split: test, folds: {k: 5}}
  held: {dataset: s, split: test, folds: {k: 5, hold: 2}}
`;

describe('spec: protocol checks', () => {
  it("the schema's metric names are exactly the ones tables read from eval.json", () => {
    const schema = JSON.parse(readFileSync('schemas/spec.schema.json', 'utf8'));
    const names = schema.$defs.metric.pattern.match(/\\\.\(([^)]+)\)\$$/)[1].split('|');
    assert.deepEqual(names.sort(), Object.keys(METRICS).sort());
  });

  it('a metric no evaluation produces is a located validation error, before any run', async () => {
    const f = write(
      'metrics.yaml',
      `${base}table:
  id: t
  rows: [{name: a, where: {model.variant: base}}]
  columns:
    - {name: c1, metric: clean.foldMean}
    - {name: c2, metric: held.foldStd}
    - {name: c3, metric: clean.f1}
    - {name: c4, metric: nope.accuracy}
    - {name: c5, metric: folded.foldMean}
    - {name: c6, metric: held.meanClassAccuracy}
    - {name: c7, metric: clean.loss}
`,
    );
    const msg = await problems(loadSpec(f));
    assert.match(msg, /metrics\.yaml:14:\d+: table\.columns\.0\.metric: metric "clean\.foldMean": test set "clean" has no folds/);
    assert.match(msg, /metrics\.yaml:15:\d+: table\.columns\.1\.metric: metric "held\.foldStd": test set "held" evaluates one held-out fold/);
    assert.match(msg, /metrics\.yaml:16:\d+: table\.columns\.2\.metric: expected a string matching .*foldMean\|foldStd/);
    assert.match(msg, /metrics\.yaml:17:\d+: table\.columns\.3\.metric: metric "nope\.accuracy" names no test set "nope"/);
    assert.doesNotMatch(msg, /columns\.[456]/);
  });

  it('a fold beyond k, training folds without hold, and DLP neighbours that cannot fit the batch are errors per run', async () => {
    const f = write(
      'folds.yaml',
      `${base.replace('iterations: 1', 'iterations: 1\n  batchSize: 8').replace('[{dataset: s, split: train}]', '[{dataset: s, split: train, folds: {k: 5}}]')}model: {variant: dlpcnn, dlp: {lpLoss: true, neighbours: 8}}
matrix: {test.held.folds.hold: [4, 5]}
`,
    );
    const msg = await problems(loadSpec(f).then(expandRuns));
    assert.match(msg, /train\.data\.0\.folds: missing "hold"/);
    assert.match(msg, /test\.held\.folds\.hold: fold 5 does not exist: folds are 0 \.\. 4/);
    assert.match(msg, /model\.dlp\.neighbours: 8 neighbours cannot fit a batch of 8 \(at most 7 other samples/);
    assert.doesNotMatch(msg, /fold 4 does not exist/);
  });

  it('model.init takes spec (with where) or checkpoint', async () => {
    const f = write('init.yaml', `${base}model: {init: {where: {model.variant: base}}}\n`);
    const msg = await problems(loadSpec(f));
    assert.match(msg, /model\.init: give model\.init\.spec \(with where\) or model\.init\.checkpoint, one of them/);
    assert.match(msg, /model\.init\.where: where selects a run of model\.init\.spec, which is not given/);
  });
});
