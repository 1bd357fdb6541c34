// A seeded fuzzer over dataset files: truncated and zero-byte images, random bytes, rows with
// the wrong number of fields, odd characters, other encodings, symlink loops, pipes. `data
// check` answers with counts and named problems (or a UserError naming the file), never an
// internal error, never hangs; and no broken FER2013 row is ever counted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DatasetOptions } from '../src/data/types.js';
import { checkDataset } from '../src/data/check.js';
import { UserError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { runCli } from './helpers/cli.js';
import * as fx from './fixtures/datasets/build.js';

const SEED = 7;
const CASES = 48;
/** Per case: a hang detector (a pipe read as an image would block forever), not a benchmark. */
const CASE_LIMIT_MS = 10_000;

const BASES: { name: string; build: (root: string) => Promise<unknown>; extra?: Record<string, unknown> }[] = [
  { name: 'fer2013', build: fx.buildFer2013 },
  { name: 'manifest', build: fx.buildManifestWithSplits, extra: { file: 'mmi.csv', crop: 'none' } },
  { name: 'rafdb', build: fx.buildRafdb },
  { name: 'affectnet', build: fx.buildAffectnet },
  { name: 'ckplus', build: fx.buildCkplus },
  { name: 'sfew', build: fx.buildSfew },
];

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath ?? (e as { path: string }).path, e.name));
  return out.sort();
}

const ODD = ['"', ',', ',,', ' ', '\t', '\r', '\u0000', '\ufeff', 'é', '\u{1F600}', '-1', '1e400', 'NaN', '0x1f', '#'];

/** One mutation of a dataset directory; returns what it did. */
async function mutate(root: string, rng: Rng): Promise<string> {
  const files = await filesUnder(root);
  const pick = <T>(xs: readonly T[]) => xs[rng.int(0, xs.length - 1)];
  const text = files.filter((f) => /\.(csv|txt)$/.test(f));
  const images = files.filter((f) => /\.(jpe?g|png)$/i.test(f));
  const kind = rng.int(0, 9);
  if (!files.length) return 'nothing left to mutate';
  const file = kind <= 3 && text.length ? pick(text) : pick(images.length ? images : files);
  const rel = path.relative(root, file);
  const buf = await fs.readFile(file);
  switch (kind) {
    case 0: {
      // A row loses or gains fields.
      const lines = buf.toString('utf8').split('\n');
      const i = rng.int(0, Math.max(0, lines.length - 2));
      const fields = lines[i].split(',');
      if (rng.next() < 0.5 && fields.length > 1) fields.splice(rng.int(0, fields.length - 1), 1);
      else fields.splice(rng.int(0, fields.length), 0, pick(ODD));
      lines[i] = fields.join(',');
      await fs.writeFile(file, lines.join('\n'));
      return `${rel}: line ${i + 1} has ${fields.length} fields`;
    }
    case 1: {
      const at = rng.int(0, buf.length);
      const ins = pick(ODD);
      await fs.writeFile(file, Buffer.concat([buf.subarray(0, at), Buffer.from(ins), buf.subarray(at)]));
      return `${rel}: insert ${JSON.stringify(ins)} at ${at}`;
    }
    case 2: {
      const enc = pick(['utf16le', 'latin1', 'bytes'] as const);
      const s = buf.toString('utf8');
      if (enc === 'utf16le') await fs.writeFile(file, Buffer.concat([rng.next() < 0.5 ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(s, 'utf16le')]));
      else if (enc === 'latin1') await fs.writeFile(file, Buffer.from(`${s}caf\u00e9,happy\n`, 'latin1'));
      else await fs.writeFile(file, Buffer.concat([buf, Buffer.from([0xc3, 0x28, 0xa0, 0xff, 0x0a])]));
      return `${rel}: encoding ${enc}`;
    }
    case 3: {
      // Duplicate or delete a line.
      const lines = buf.toString('utf8').split('\n');
      const i = rng.int(0, lines.length - 1);
      if (rng.next() < 0.5) lines.splice(i, 0, lines[i]);
      else lines.splice(i, 1);
      await fs.writeFile(file, lines.join('\n'));
      return `${rel}: line ${i + 1} duplicated or deleted`;
    }
    case 4: {
      const at = rng.int(0, buf.length);
      await fs.writeFile(file, buf.subarray(0, at));
      return `${rel}: truncated to ${at} bytes`;
    }
    case 5:
      await fs.writeFile(file, Buffer.alloc(0));
      return `${rel}: zero bytes`;
    case 6: {
      const junk = Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255)));
      const at = rng.int(0, buf.length);
      junk.copy(buf, at);
      await fs.writeFile(file, buf);
      return `${rel}: ${junk.length} random bytes at ${at}`;
    }
    case 7: {
      await fs.rm(file);
      const how = pick(['loop', 'dangling', 'folder', 'pipe'] as const);
      if (how === 'loop') await fs.symlink(path.basename(file), file);
      else if (how === 'dangling') await fs.symlink(`${path.basename(file)}.gone`, file);
      else if (how === 'folder') await fs.mkdir(file);
      else execFileSync('mkfifo', [file]);
      return `${rel}: replaced by a ${how}`;
    }
    case 8: {
      // A folder loop next to the files (a class folder that links to its parent).
      const dir = path.dirname(file);
      await fs.symlink('..', path.join(dir, `loop${rng.int(0, 999)}`)).catch(() => undefined);
      await fs.symlink('.', path.join(dir, `Happy${rng.int(0, 999)}`)).catch(() => undefined);
      return `${path.relative(root, dir)}: symlink loops`;
    }
    default: {
      await fs.rm(file);
      return `${rel}: deleted`;
    }
  }
}

/** FER2013's promise: a counted sample is a row of 3 fields with 2,304 integers 0..255. */
async function ferRowsCounted(root: string, counted: number): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(path.join(root, 'fer2013.csv'), 'utf8');
  } catch {
    return;
  }
  const good = text
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => {
      const f = l.split(',');
      const px = (f[1] ?? '').trim().split(/\s+/);
      return f.length === 3 && /^[0-6]$/.test(f[0].trim()) && /^(Training|PublicTest|PrivateTest)$/.test(f[2].trim()) && px.length === 2304 && px.every((v) => /^\d+$/.test(v) && Number(v) <= 255);
    }).length;
  assert.ok(counted <= good, `counted ${counted} FER2013 samples, only ${good} rows are well-formed`);
}

describe(`dataset fuzzer (seed ${SEED}, ${CASES} cases)`, function () {
  this.timeout(600_000);
  let base: string;
  before(async () => {
    base = await fx.tempDir('acnn-fuzz-data-');
    for (const b of BASES) {
      await fs.mkdir(path.join(base, 'base', b.name), { recursive: true });
      await b.build(path.join(base, 'base', b.name));
    }
  });
  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it('data check gives counts and named problems, or a UserError naming the file; never hangs', async () => {
    const rng = new Rng(SEED);
    const tally = { checked: 0, refused: 0, problems: 0 };
    for (let i = 0; i < CASES; i++) {
      const b = BASES[i % BASES.length];
      const root = path.join(base, `case-${i}`);
      await fs.cp(path.join(base, 'base', b.name), root, { recursive: true });
      const what: string[] = [];
      for (let m = rng.int(1, 3); m > 0; m--) what.push(await mutate(root, rng));
      const label = `case ${i} (${b.name}: ${what.join('; ')})`;
      const options: DatasetOptions = { name: `fz${i}`, format: b.name, root, cacheDir: path.join(base, 'cache'), ...(b.extra ?? {}) };
      const t0 = performance.now();
      try {
        const r = await checkDataset(options, { detect: false });
        tally.checked++;
        tally.problems += r.problems.length;
        for (const p of r.problems) {
          assert.ok(p.kind && p.file && p.message, `${label}: malformed problem ${JSON.stringify(p)}`);
          if (p.line !== undefined) assert.ok(Number.isInteger(p.line) && p.line > 0, `${label}: line ${p.line}`);
        }
        for (const c of Object.values(r.splits)) assert.equal(Object.values(c.perClass).reduce((a, n) => a + n, 0), c.count, label);
        if (b.name === 'fer2013') await ferRowsCounted(root, Object.values(r.splits).reduce((a, c) => a + c.count, 0));
      } catch (err) {
        if (!(err instanceof UserError)) assert.fail(`${label}: ${(err as Error).stack}`);
        assert.ok(err.message.includes(root), `${label}: the message names no file under the root: ${err.message}`);
        tally.refused++;
      }
      const ms = performance.now() - t0;
      assert.ok(ms < CASE_LIMIT_MS, `${label}: ${ms.toFixed(0)} ms`);
    }
    console.log(`      ${tally.checked} checked (${tally.problems} problems named), ${tally.refused} refused with a UserError`);
    assert.ok(tally.checked > CASES / 2 && tally.problems > CASES / 2, JSON.stringify(tally));
  });

  it('through the CLI: acnn data check --json on a broken dataset exits 0 or 2, no stack', async () => {
    const root = path.join(base, 'case-0');
    const spec = path.join(base, 'fuzz.yaml');
    await fs.writeFile(spec, `datasets:\n  d: {format: fer2013, root: ${JSON.stringify(root)}}\ntrain: {data: [{dataset: d, split: train}], iterations: 1}\ntest: {t: {dataset: d, split: test}}\n`);
    const res = await runCli(['data', 'check', spec, '--json'], { timeoutMs: 60_000 });
    assert.ok(res.code === 0 || res.code === 2, `exit ${res.code}: ${res.stderr}`);
    assert.doesNotMatch(res.stderr, /\n\s+at |internal error/);
  });
});
