// Broken dataset files: malformed records are named problems (file, line, what is wrong) and
// never samples; text in the wrong encoding and unreadable image files are named; the landmark
// cache holds only points found on the pixels a sample has now.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DatasetOptions, DataProblem, DecodedSample } from '../src/data/types.js';
import { getAdapter, prepareSplit } from '../src/data/registry.js';
import { checkDataset } from '../src/data/check.js';
import { landmarkCacheFile, resolveLandmarks, type LandmarkDetector } from '../src/data/landmarks/index.js';
import { UserError } from '../src/util/errors.js';
import { runCli } from './helpers/cli.js';
import * as fx from './fixtures/datasets/build.js';

const problemsAt = (problems: DataProblem[]) => problems.map((p) => [p.kind, path.basename(p.file), p.line]);

const grey = (k: number, n = 48 * 48) => Array.from({ length: n }, (_, i) => (i * 3 + k) % 256).join(' ');

describe('malformed dataset records', function () {
  this.timeout(60_000);
  let base: string;
  before(async () => {
    base = await fx.tempDir('acnn-bad-records-');
  });
  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  /** FER2013 with one good row per split and every way a row can be wrong. */
  async function badFer(): Promise<string> {
    const root = path.join(base, 'fer');
    await fs.mkdir(root, { recursive: true });
    const rows = [
      'emotion,pixels,Usage',
      `3,${grey(1)},Training`, // 2: good
      `3,${grey(2, 100)},Training`, // 3: 100 values (a square, but not 48x48)
      `4,${grey(3).replace(/ 17 /, ' x17 ')},Training`, // 4: not a number
      `4,${grey(4)},Training,extra`, // 5: four fields
      `4,${grey(5).replace(/ 9 /, ' 300 ')},Training`, // 6: out of range
      `9,${grey(6)},Training`, // 7: no such emotion
      `2,,PublicTest`, // 8: no pixels
      `2,${grey(7)},PublicTest`, // 9: good
      `1,${grey(8)},PrivateTest`, // 10: good
      `1,${grey(9)}`, // 11: two fields
    ];
    await fs.writeFile(path.join(root, 'fer2013.csv'), rows.join('\n') + '\n');
    return root;
  }

  it('FER2013: wrong pixel counts, non-numbers, wrong field counts are problems, not samples', async () => {
    const options: DatasetOptions = { name: 'fer', format: 'fer2013', root: await badFer() };
    const train = await getAdapter('fer2013').list(options, 'train');
    assert.deepEqual(train.samples.map((s) => s.id), ['train/2']);
    assert.deepEqual(problemsAt(train.problems), [
      ['bad-record', 'fer2013.csv', 3],
      ['bad-record', 'fer2013.csv', 4],
      ['bad-record', 'fer2013.csv', 5],
      ['bad-record', 'fer2013.csv', 6],
      ['bad-label', 'fer2013.csv', 7],
      ['bad-record', 'fer2013.csv', 11],
    ]);
    assert.match(train.problems[0].message, /pixels: 100 values, expected 2304 \(48x48\)/);
    assert.match(train.problems[1].message, /value \d+ is 'x17', not an integer 0\.\.255/);
    assert.match(train.problems[2].message, /expected 3 fields \(emotion,pixels,Usage\), found 4/);
    assert.match(train.problems[3].message, /is '300', not an integer 0\.\.255/);
    const val = await getAdapter('fer2013').list(options, 'val');
    assert.deepEqual(val.samples.map((s) => s.id), ['val/9']);
    assert.deepEqual(problemsAt(val.problems), [['bad-record', 'fer2013.csv', 8]]);
  });

  it('acnn data check --json names the malformed FER2013 rows and does not count them', async () => {
    const root = await badFer();
    const spec = path.join(base, 'fer.yaml');
    await fs.writeFile(spec, `datasets:\n  fer: {format: fer2013, root: ${JSON.stringify(root)}}\ntrain: {data: [{dataset: fer, split: train}], iterations: 1}\ntest: {t: {dataset: fer, split: test}}\n`);
    const res = await runCli(['data', 'check', spec, '--json'], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { datasets: { fer: { splits: Record<string, { count: number }>; problems: DataProblem[] } } };
    const fer = report.datasets.fer;
    assert.deepEqual(Object.fromEntries(Object.entries(fer.splits).map(([k, v]) => [k, v.count])), { train: 1, val: 1, test: 1 });
    const hundred = fer.problems.find((p) => p.line === 3)!;
    assert.deepEqual([hundred.kind, hundred.file, hundred.message], ['bad-record', path.join(root, 'fer2013.csv'), 'pixels: 100 values, expected 2304 (48x48)']);
    assert.equal(fer.problems.length, 7);
  });

  it('RAF-DB, AffectNet, manifest and CK+ rows with the wrong shape are named too', async () => {
    const raf = path.join(base, 'raf');
    await fx.buildRafdb(raf);
    await fs.appendFile(path.join(raf, 'EmoLabel', 'list_patition_label.txt'), 'train_00001.jpg 4 extra\ntrain_00002.jpg\n');
    const r = await getAdapter('rafdb').list({ name: 'r', format: 'rafdb', root: raf }, 'train');
    assert.deepEqual(problemsAt(r.problems), [['bad-record', 'list_patition_label.txt', 12], ['bad-record', 'list_patition_label.txt', 13]]);
    assert.match(r.problems[0].message, /expected 2 fields \("<image> <1\.\.7>"\), found 3/);

    const aff = path.join(base, 'aff');
    await fs.mkdir(aff, { recursive: true });
    await fx.buildAffectnet(aff);
    await fs.appendFile(path.join(aff, 'training.csv'), '1/a.jpg,10,12\n,10,12,60,60,' + fx.points68(0, 0, 9).join(';') + ',1\n');
    const a = await getAdapter('affectnet').list({ name: 'a', format: 'affectnet', root: aff }, 'train');
    assert.deepEqual(problemsAt(a.problems), [['bad-record', 'training.csv', 12], ['bad-record', 'training.csv', 13]]);
    assert.match(a.problems[0].message, /expected at least 7 fields .*found 3/);
    await fs.writeFile(path.join(aff, 'training.csv'), 'subDirectory_filePath,face_x,expression\n1/a.jpg,1,1\n');
    await assert.rejects(getAdapter('affectnet').list({ name: 'a', format: 'affectnet', root: aff }, 'train'), /training\.csv:1: the header lacks the column\(s\) face_y, face_width, face_height, facial_landmarks/);

    const man = path.join(base, 'man');
    await fx.buildManifest(man);
    await fs.appendFile(path.join(man, 'all.csv'), 'img/a.png\nimg/a.png,happy,1,2,3\n');
    const m = await getAdapter('manifest').list({ name: 'm', format: 'manifest', root: man, file: 'all.csv' }, 'all');
    assert.deepEqual(problemsAt(m.problems), [['bad-record', 'all.csv', 5], ['bad-landmarks', 'all.csv', 6]]);

    const ck = path.join(base, 'ck');
    await fx.buildCkplus(ck);
    const lm = path.join(ck, 'Landmarks', 'S005', '001', 'S005_001_00000001_landmarks.txt');
    const lines = (await fs.readFile(lm, 'utf8')).trimEnd().split('\n');
    await fs.writeFile(lm, [...lines.slice(0, 10), `${lines[10]} 7`, ...lines.slice(11)].join('\n'));
    const lm2 = path.join(ck, 'Landmarks', 'S010', '002', 'S010_002_00000003_landmarks.txt');
    await fs.writeFile(lm2, (await fs.readFile(lm2, 'utf8')).trimEnd().split('\n').slice(1).join('\n'));
    const c = await getAdapter('ckplus').list({ name: 'c', format: 'ckplus', root: ck }, 'all');
    assert.deepEqual(problemsAt(c.problems), [['bad-landmarks', 'S005_001_00000001_landmarks.txt', 11], ['bad-landmarks', 'S010_002_00000003_landmarks.txt', undefined]]);
    assert.match(c.problems[1].message, /expected 68 lines of two numbers "x y", found 67/);
    // The samples stay (without points: detection may give them some); their bad points are not used.
    assert.equal(c.samples.find((s) => s.id === 'S005/001/S005_001_00000001')?.landmarks, undefined);
  });

  it('text files in another encoding are refused whole, naming the file and line', async () => {
    const man = path.join(base, 'enc');
    await fx.buildManifest(man);
    const csv = path.join(man, 'all.csv');
    const utf8 = await fs.readFile(csv, 'utf8');
    const options: DatasetOptions = { name: 'e', format: 'manifest', root: man, file: 'all.csv' };
    await fs.writeFile(csv, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf8, 'utf16le')]));
    await assert.rejects(getAdapter('manifest').list(options, 'all'), (e: unknown) => e instanceof UserError && /all\.csv: UTF-16 text/.test(e.message));
    await fs.writeFile(csv, Buffer.from(utf8, 'utf16le'));
    await assert.rejects(getAdapter('manifest').list(options, 'all'), /all\.csv:1: a NUL byte: not a text file/);
    const rows = utf8.split('\n');
    await fs.writeFile(csv, Buffer.concat([Buffer.from(`${rows[0]}\n${rows[1]}\nimg/caf`), Buffer.from([0xe9]), Buffer.from('.png,happy\n')]));
    await assert.rejects(getAdapter('manifest').list(options, 'all'), /all\.csv:3: not UTF-8 text/);
    // A UTF-8 byte-order mark is fine.
    await fs.writeFile(csv, `\ufeff${utf8}`);
    assert.equal((await getAdapter('manifest').list(options, 'all')).samples.length, 4);
  });

  it('empty, truncated and unreadable image files are problems of data check, not samples, and nothing hangs', async () => {
    const root = path.join(base, 'imgs');
    await fx.buildFedro(root);
    const dir = path.join(root, 'happy');
    const good = await fs.readFile(path.join(dir, '0.jpg'));
    await fs.writeFile(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
    await fs.writeFile(path.join(dir, 'cut.jpg'), good.subarray(0, good.length >> 1));
    await fs.symlink('loop.jpg', path.join(dir, 'loop.jpg'));
    await fs.symlink('gone.jpg', path.join(dir, 'dangling.jpg'));
    await fs.mkdir(path.join(dir, 'folder.jpg'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.jpg')]);
    await fs.symlink('..', path.join(dir, 'up')); // a folder loop: class folders are not followed through links
    const r = await checkDataset({ name: 'f', format: 'fedro', root });
    assert.equal(r.splits.all.count, 9);
    const byFile = Object.fromEntries(r.problems.map((p) => [path.basename(p.file), `${p.kind}: ${p.message}`]));
    assert.match(byFile['cut.jpg'], /^corrupt-image: /);
    delete byFile['cut.jpg'];
    assert.deepEqual(byFile, {
      'empty.jpg': 'corrupt-image: empty file (0 bytes)',
      'loop.jpg': 'other: cannot read: a loop of symbolic links',
      'dangling.jpg': 'missing-file: file not found (or a symbolic link to nothing)',
      'folder.jpg': 'other: not a regular file (a folder, pipe or device)',
      'pipe.jpg': 'other: not a regular file (a folder, pipe or device)',
    });
  });
});

/** A stand-in detector: records what it was run on; points from the image's size and first pixel. */
function countingDetector(): LandmarkDetector & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async detect(img: DecodedSample) {
      calls.push(img.id);
      return Float32Array.from({ length: 136 }, (_, i) => (i % 2 ? img.height : img.width) / 2 + img.rgb[0] / 64 + i / 100);
    },
    dispose() {},
  };
}

describe('landmark cache: points of the pixels a sample has now', function () {
  this.timeout(60_000);
  let base: string;
  before(async () => {
    base = await fx.tempDir('acnn-lmcache-');
  });
  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it("RAF-DB's aligned and original images (same ids) never share points", async () => {
    const root = path.join(base, 'raf');
    await fx.buildRafdb(root);
    const cacheDir = path.join(base, 'cache');
    const aligned: DatasetOptions = { name: 'raf', format: 'rafdb', root, cacheDir, landmarks: { source: 'detect' } };
    const original: DatasetOptions = { ...aligned, aligned: false };
    assert.notEqual(landmarkCacheFile(aligned), landmarkCacheFile(original));
    const det = countingDetector();
    const a = await prepareSplit(aligned, 'test', { detector: det });
    const o = await prepareSplit(original, 'test', { detector: det });
    assert.equal(det.calls.length, 6, 'each mode detected on its own images');
    // Points in each image's own frame: 100x100 aligned faces, 120x90 originals.
    assert.ok(o.samples.every((s) => Math.abs(s.landmarks![1] - 45) < 5), JSON.stringify(o.samples.map((s) => s.landmarks![1])));
    assert.ok(a.samples.every((s) => Math.abs(s.landmarks![1] - 50) < 5));
    // The crop mode and margin are applied to the cached points afterwards: no new detection.
    await prepareSplit({ ...original, crop: 'face', cropMargin: 0.4 }, 'test', { detector: det });
    await prepareSplit({ ...original, crop: 'none' }, 'test', { detector: det });
    assert.equal(det.calls.length, 6);
  });

  it('an edited image is detected again; a moved copy of the data is not', async () => {
    const root = path.join(base, 'man');
    await fx.buildManifest(root);
    await fs.writeFile(path.join(root, 'plain.csv'), 'img/a.png,happy\nimg/b.png,sad\nimg/c.png,fear\n');
    const cacheDir = path.join(base, 'cache2');
    const options: DatasetOptions = { name: 'm', format: 'manifest', root, file: 'plain.csv', cacheDir };
    const det = countingDetector();
    const first = await prepareSplit(options, 'all', { detector: det });
    assert.equal(det.calls.length, 3);
    assert.equal(first.landmarks.detected, 3);

    // Moved (copied elsewhere: new mtimes, same bytes): every point comes from the cache.
    const moved = path.join(base, 'moved');
    await fs.cp(root, moved, { recursive: true });
    const again = await prepareSplit({ ...options, root: moved }, 'all', { detector: det });
    assert.equal(det.calls.length, 3);
    assert.equal(again.landmarks.fromCache, 3);

    // Edited in place: that image alone is detected again, and its new points are used.
    await fx.writeImage(path.join(moved, 'img', 'b.png'), 64, 80);
    const edited = await prepareSplit({ ...options, root: moved }, 'all', { detector: det });
    assert.deepEqual(det.calls.slice(3), ['img/b.png']);
    const b = edited.samples.find((s) => s.id === 'img/b.png')!;
    assert.ok(Math.abs(b.landmarks![1] - 40) < 5, `points of the 64x80 image expected, got y ${b.landmarks![1]}`);

    // Without a detector a stale entry is not used: the sample is reported as missing points.
    await fx.writeImage(path.join(moved, 'img', 'c.png'), 30, 30);
    const stale = await resolveLandmarks(getAdapter('manifest'), { ...options, root: moved }, (await getAdapter('manifest').list({ ...options, root: moved }, 'all')).samples, { detect: false });
    assert.equal(stale.stats.missing, 1);
    assert.equal(stale.samples.find((s) => s.id === 'img/c.png')!.landmarks, undefined);

    // Written atomically: no temp files are left next to the cache.
    const names = await fs.readdir(cacheDir);
    assert.deepEqual(names.filter((n) => !n.endsWith('.json')), []);
  });

  it('FER2013: a row that moved to another line (a new id) is detected again, an unchanged one is not', async () => {
    const root = path.join(base, 'fer');
    await fs.mkdir(root, { recursive: true });
    const csv = path.join(root, 'fer2013.csv');
    await fs.writeFile(csv, `emotion,pixels,Usage\n3,${grey(1)},Training\n4,${grey(2)},Training\n`);
    const options: DatasetOptions = { name: 'fer', format: 'fer2013', root, cacheDir: path.join(base, 'cache3'), landmarks: { source: 'detect' } };
    const det = countingDetector();
    await prepareSplit(options, 'train', { detector: det });
    assert.equal(det.calls.length, 2);
    // Swap the two rows: same ids (train/2, train/3), other pixels.
    await fs.writeFile(csv, `emotion,pixels,Usage\n4,${grey(2)},Training\n3,${grey(1)},Training\n`);
    await prepareSplit(options, 'train', { detector: det });
    assert.equal(det.calls.length, 4);
    await prepareSplit(options, 'train', { detector: det });
    assert.equal(det.calls.length, 4);
  });

  it('a corrupt cache file stops with a message naming it', async () => {
    const root = path.join(base, 'man');
    const options: DatasetOptions = { name: 'm', format: 'manifest', root, file: 'plain.csv', cacheDir: path.join(base, 'cache4') };
    await fs.mkdir(path.join(base, 'cache4'), { recursive: true });
    await fs.writeFile(landmarkCacheFile(options), '{"version": 2, "entries": {"img/a.png": {"w": 5');
    await assert.rejects(prepareSplit(options, 'all', { detector: countingDetector() }), /landmarks cache .* is not valid JSON .*delete it to detect again/);
  });
});
