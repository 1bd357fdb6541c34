import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import * as fx from './fixtures/datasets/build.js';
import { patchWindow, renderPreview, specData } from '../src/preview/index.js';
import { checkDatasets, formatCheck } from '../src/data/check.js';
import { UserError } from '../src/util/errors.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function acnn(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('acnn data (CLI)', function () {
  this.timeout(60000);
  let dir: string;
  let spec: string;
  before(async () => {
    dir = await fx.tempDir('acnn-data-cli-');
    // RAF-DB fixture with one corrupt JPEG, one missing file and one bad label row;
    // CK+ fixture as the second dataset (its own landmarks).
    const raf = path.join(dir, 'raf');
    await fx.buildRafdb(raf);
    const labels = path.join(raf, 'EmoLabel', 'list_patition_label.txt');
    const text = await fs.readFile(labels, 'utf8');
    await fs.writeFile(labels, text + 'train_00009.jpg 9\ntrain_00010.jpg 4\n');
    await fs.writeFile(path.join(raf, 'Image', 'aligned', 'train_00002_aligned.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70]));
    await fx.buildCkplus(path.join(dir, 'ck'));
    spec = path.join(dir, 'spec.yaml');
    await fs.writeFile(
      spec,
      [
        'datasets:',
        '  raf: {format: rafdb, root: "${env:RAFDB_ROOT}"}',
        `  ck: {format: ckplus, root: ${JSON.stringify(path.join(dir, 'ck'))}}`,
        'train: {data: [{dataset: raf, split: train}], iterations: 1}',
        'test: {clean: {dataset: ck, split: all}}',
      ].join('\n') + '\n',
    );
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('data check --json names the corrupt JPEG, the missing file and the bad label row, and reads the rest', async () => {
    const r = await acnn(['data', 'check', spec, '--json'], { RAFDB_ROOT: path.join(dir, 'raf') });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), ['datasets']);
    assert.deepEqual(Object.keys(report.datasets).sort(), ['ck', 'raf']);
    const raf = report.datasets.raf;
    assert.deepEqual(Object.keys(raf).sort(), ['problems', 'splits']);
    // 8 train rows: one corrupt (train_00002, code 2 fear); plus rows 12 (bad code) and 13 (missing image)
    assert.deepEqual(raf.splits.train, {
      count: 7,
      perClass: { neutral: 2, anger: 1, disgust: 1, fear: 0, happy: 1, sad: 1, surprise: 1 },
    });
    assert.equal(raf.splits.test.count, 3);
    const byKind = Object.fromEntries(raf.problems.map((p: { kind: string }) => [p.kind, p]));
    assert.equal(raf.problems.length, 3, JSON.stringify(raf.problems));
    assert.match(byKind['corrupt-image'].file, /train_00002_aligned\.jpg$/);
    assert.match(byKind['bad-label'].file, /list_patition_label\.txt$/);
    assert.equal(byKind['bad-label'].line, 12);
    assert.match(byKind['missing-file'].file, /train_00010_aligned\.jpg$/);
    assert.equal(byKind['missing-file'].line, 13);
    assert.deepEqual(report.datasets.ck.splits.all.perClass, { neutral: 2, anger: 0, disgust: 1, fear: 0, happy: 1, sad: 0, surprise: 0 });
  });

  // In-process from here on: spawning the CLI costs seconds per call.
  it('data check (text) reports landmark coverage; --dataset narrows; a missing root is a UserError naming the env variable', async () => {
    process.env.RAFDB_ROOT = path.join(dir, 'raf');
    try {
      const sd = await specData(spec);
      assert.equal(sd.datasets.raf.root, path.join(dir, 'raf'));
      const text = formatCheck(await checkDatasets({ ck: sd.datasets.ck }));
      assert.match(text, /all: 4 samples/);
      assert.match(text, /4\/4 with 68 landmarks, 4 from the dataset/);
      assert.doesNotMatch(text, /dataset raf/);
      process.env.RAFDB_ROOT = path.join(dir, 'nowhere');
      const sd2 = await specData(spec);
      await assert.rejects(checkDatasets({ raf: sd2.datasets.raf }), (e: unknown) => e instanceof UserError && e.exitCode === 2 && /nowhere/.test(e.message) && /RAFDB_ROOT/.test(e.message));
    } finally {
      delete process.env.RAFDB_ROOT;
    }
  });

  it("preview patch windows are the model's own, small inputs included", () => {
    assert.equal(patchWindow(224), 48); // the paper's 6x6 patch on the 28x28 map
    assert.equal(patchWindow(112), 24);
    // At 32 px the map is 4x4 and the model crops 2x2 cells, never fewer (16 px, not 8).
    assert.equal(patchWindow(32), 16);
    assert.throws(() => patchWindow(16), (e: unknown) => e instanceof UserError && /16px/.test(e.message));
  });

  it('data preview renders a contact sheet PNG (occluded, with patches)', async () => {
    const sd = await specData(spec, ['datasets.raf.root=/unused']).catch(() => undefined);
    const ck = sd?.datasets.ck ?? { name: 'ck', format: 'ckplus', root: path.join(dir, 'ck') };
    const r = await renderPreview(ck, { count: 4, inputSize: 64, seed: 1, occlusion: { protocol: 'random-square', ratio: 1 } });
    assert.equal(r.count, 4);
    const meta = await sharp(r.png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok((meta.width ?? 0) > 100);
  });

  /** Fraction of an item's pixels in the fixture's face colour. */
  const faceShare = (item: { rgb: Uint8Array }) => {
    let n = 0;
    for (let i = 0; i < item.rgb.length; i += 3) if (Math.abs(item.rgb[i] - fx.FACE_RGB[0]) < 30 && item.rgb[i + 1] < 60 && item.rgb[i + 2] < 60) n++;
    return n / (item.rgb.length / 3);
  };

  it('data preview of a CK+ folder draws face crops (the landmarks box plus margin), not full frames; crop: none draws the frame', async () => {
    const ck = { name: 'ck', format: 'ckplus', root: path.join(dir, 'ck') };
    const cropped = await renderPreview(ck, { count: 4, inputSize: 64, seed: 1 });
    assert.equal(cropped.crop, 'face crop');
    for (const item of cropped.items) {
      assert.ok(faceShare(item) > 0.95, `face share ${faceShare(item)}`);
      // The 68 points fill the crop: their box is 1/1.3 of the 232/224-resized crop, centred.
      const xs = Array.from(item.landmarks).filter((_, i) => i % 2 === 0);
      const span = Math.max(...xs) - Math.min(...xs);
      assert.ok(Math.abs(span - (64 * (67 / 64)) / 1.3) < 2, `landmark span ${span}`);
    }
    const frame = await renderPreview({ ...ck, crop: 'none' }, { count: 4, inputSize: 64, seed: 1 });
    assert.equal(frame.crop, 'no crop');
    for (const item of frame.items) assert.ok(faceShare(item) < 0.35, `face share ${faceShare(item)}`);
  });

  it('acnn data preview (CLI) writes the sheet and says it is face-cropped', async () => {
    const out = path.join(dir, 'ck.png');
    const r = await acnn(['data', 'preview', spec, '--dataset', 'ck', '--count', '4', '--size', '64', '--out', out], { RAFDB_ROOT: path.join(dir, 'raf') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*ck\.png: 4 samples of ck\/all at 64px, face crop/);
    assert.equal((await sharp(out).metadata()).format, 'png');
  });
});
