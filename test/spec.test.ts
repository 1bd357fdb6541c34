// The spec language through the real CLI: broken specs exit 2 with file:line, key and no stack trace.
import assert from 'node:assert/strict';
import { runCli, type CliResult } from './helpers/cli.js';

const F = 'test/fixtures/specs';
const broken = ['typo-key', 'bad-enum', 'wrong-type', 'syntax', 'empty', 'extends-missing', 'loop-a', 'env-missing', 'sweep-bad', 'many-errors', 'child'];

function noStack(r: CliResult) {
  assert.ok(!r.stderr.includes('    at '), `stack trace in stderr:\n${r.stderr}`);
  assert.ok(!r.stdout.includes('    at '), `stack trace in stdout:\n${r.stdout}`);
}

describe('spec CLI', function () {
  this.timeout(90_000);
  let batch: CliResult;
  let setUnknown: CliResult;
  let configs: CliResult;
  let plan2: CliResult;
  let planJson: CliResult;
  let helps: CliResult[];

  before(async () => {
    const env = { ACNN_TEST_SURELY_UNSET: undefined };
    [batch, setUnknown, configs, plan2, planJson, ...helps] = await Promise.all([
      runCli(['validate', ...broken.map((b) => `${F}/${b}.yaml`)], { env }),
      runCli(['plan', `${F}/good.yaml`, '--set', 'train.lrr=0.1', '--set', 'model.variant=pacnn']),
      runCli(['validate', 'configs/quickstart.yaml', 'configs/table2.yaml', 'configs/table3.yaml', 'configs/table4.yaml', 'configs/table5.yaml'], {
        env: { RAFDB_ROOT: undefined, AFFECTNET_ROOT: undefined },
      }),
      runCli(['plan', 'configs/table2.yaml']),
      runCli(['plan', `${F}/good.yaml`, '--json', '--set', 'train.iterations=5']),
      runCli(['validate', '--help']),
      runCli(['render', '--help']),
      runCli(['plan', '--help']),
    ]);
  });

  it('exits 2 without a stack trace when any spec is broken', () => {
    assert.equal(batch.code, 2, batch.stderr);
    noStack(batch);
  });

  const expectLine = (re: RegExp) => () => assert.match(batch.stderr, re);
  it('typo in a key: line, key and did-you-mean', expectLine(/typo-key\.yaml:4:3: model\.varient: unknown key "varient" \(did you mean "variant"\?\)/));
  it('wrong enum value: line, key and did-you-mean', expectLine(/bad-enum\.yaml:4:12: model\.variant: expected one of base, .*found string "gacn" \(did you mean "gacnn"\?\)/));
  it('wrong type: expected and found', expectLine(/wrong-type\.yaml:6:7: train\.lr: expected a number, found string "fast"/));
  it('YAML syntax error with its line', expectLine(/syntax\.yaml:3:1: YAML syntax error/));
  it('empty file', expectLine(/empty\.yaml:1:1: the spec file is empty/));
  it('missing extends target', expectLine(/extends-missing\.yaml:1:10: extends: extends target not found: "no-such-base\.yaml"/));
  it('extends loop', expectLine(/loop-b\.yaml:1:10: extends: extends loop: .*loop-a\.yaml -> .*loop-b\.yaml -> .*loop-a\.yaml/));
  it('missing env variable without default', expectLine(/env-missing\.yaml:2:32: datasets\.rafdb\.root: environment variable ACNN_TEST_SURELY_UNSET is not set/));
  it('sweep over a key that does not exist', expectLine(/sweep-bad\.yaml:5:5: sweep\.grid\.train\.lrate: unknown key "lrate" in train/));
  it('sweep distribution with low > high', expectLine(/sweep-bad\.yaml:9:\d+: sweep\.random\.params\.train\.momentum\.low: expected low <= high/));

  it('reports every problem of a file in one pass', () => {
    const lines = batch.stderr.split('\n').filter((l) => l.includes('many-errors.yaml:'));
    assert.equal(lines.length, 5, batch.stderr);
    assert.match(batch.stderr, /many-errors\.yaml:3:17: datasets\.raf\.format: .*\(did you mean "rafdb"\?\)/);
    assert.match(batch.stderr, /many-errors\.yaml:6:14: model\.inputSize: expected an integer, found string "big"/);
    assert.match(batch.stderr, /many-errors\.yaml:9:20: train\.data\.0\.dataset: no dataset named "synthetc" in datasets \(did you mean "synthetic"\?\)/);
    assert.match(batch.stderr, /5 problems in .*many-errors\.yaml/);
  });

  it('extends: each problem points into the file that wrote the key', () => {
    assert.match(batch.stderr, /base\.yaml:8:12: model\.dropout: expected a number < 1, found integer 2/);
    assert.match(batch.stderr, /child\.yaml:4:3: model\.backbon: unknown key "backbon" \(did you mean "backbone"\?\)/);
  });

  it('an unknown --set key exits 2 with a did-you-mean', () => {
    assert.equal(setUnknown.code, 2);
    noStack(setUnknown);
    assert.match(setUnknown.stderr, /--set train\.lrr=0\.1: train\.lrr: unknown key "lrr" in train \(did you mean "train\.lr"\?\)/);
  });

  it('validate configs/*.yaml exits 0, env vars unset', () => {
    assert.equal(configs.code, 0, configs.stderr);
    assert.match(configs.stdout, /ok: configs\/table2\.yaml \(12 runs\)/);
    assert.match(configs.stdout, /ok: configs\/quickstart\.yaml \(6 runs\)/);
  });

  it('plan configs/table2.yaml lists 12 runs with ids, settings and tags', () => {
    assert.equal(plan2.code, 0, plan2.stderr);
    const rows = plan2.stdout.split('\n').filter((l) => /^\s*\d+\s+[0-9a-f]{10}\s/.test(l));
    assert.equal(rows.length, 12);
    assert.match(plan2.stdout, /model\.variant=gacnn\s+train\.data\.0\.dataset=affectnet.*\[row=gACNN trainset=AffectNet/);
  });

  it('plan --json gives a machine-readable array', () => {
    assert.equal(planJson.code, 0, planJson.stderr);
    const runs = JSON.parse(planJson.stdout) as { id: string; differs: Record<string, unknown>; config: { train: { iterations: number } } }[];
    assert.equal(runs.length, 8);
    assert.ok(runs.every((r) => /^[0-9a-f]{10}$/.test(r.id) && r.config.train.iterations === 5));
    assert.deepEqual(Object.keys(runs[0].differs).sort(), ['model.variant', 'model.width', 'test.occluded.occlusion.seed', 'train.lr', 'train.seed']);
  });

  it('--help on validate, render and plan', () => {
    const [v, r, p] = helps;
    for (const h of helps) assert.equal(h.code, 0, h.stderr);
    assert.match(v.stdout, /acnn validate <specs\.\.>/);
    assert.match(r.stdout, /acnn render <spec>/);
    assert.match(r.stdout, /--json/);
    assert.match(p.stdout, /acnn plan <spec>/);
    assert.match(p.stdout, /--set/);
  });
});
