import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CLASSES, type DatasetOptions, type SampleRef } from '../src/data/types.js';
import { getAdapter, FORMATS } from '../src/data/registry.js';
import { UserError } from '../src/util/errors.js';
import { DataError } from '../src/data/images.js';
import * as fx from './fixtures/datasets/build.js';

function perClass(samples: SampleRef[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const s of samples) out[CLASSES[s.label]]++;
  return out;
}

const BUILDERS: [string, (root: string) => Promise<fx.Counts>, Record<string, unknown>?][] = [
  ['rafdb', fx.buildRafdb],
  ['affectnet', fx.buildAffectnet],
  ['ckplus', fx.buildCkplus],
  ['sfew', fx.buildSfew],
  ['oulu', fx.buildOulu],
  ['fedro', fx.buildFedro],
  ['fer2013', fx.buildFer2013],
  ['manifest', fx.buildManifest, { file: 'all.csv' }],
  ['manifest', fx.buildManifestWithSplits, { file: 'mmi.csv' }],
];

describe('data adapters: released layouts', function () {
  let base: string;
  before(async () => {
    base = await fx.tempDir();
  });
  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it('knows every format', () => {
    for (const f of ['rafdb', 'affectnet', 'ckplus', 'sfew', 'oulu', 'fedro', 'fer2013', 'manifest', 'synthetic']) {
      assert.ok(FORMATS.includes(f), f);
      assert.equal(getAdapter(f).format, f);
    }
    assert.throws(() => getAdapter('imagenet'), UserError);
  });

  for (const [format, build, extra] of BUILDERS) {
    it(`${format} (${build.name}): reads the fixture back with exact per-class counts`, async () => {
      const root = path.join(base, build.name);
      await fs.mkdir(root, { recursive: true });
      const expected = await build(root);
      const options: DatasetOptions = { name: `fx-${format}`, format, root, ...(extra ?? {}) };
      const adapter = getAdapter(format);
      assert.deepEqual(adapter.splits(options).sort(), Object.keys(expected).sort());
      for (const [split, counts] of Object.entries(expected)) {
        const listing = await adapter.list(options, split);
        assert.deepEqual(listing.problems, [], `${format}/${split} problems: ${JSON.stringify(listing.problems)}`);
        assert.deepEqual(perClass(listing.samples), counts, `${format}/${split}`);
        assert.ok(listing.samples.every((s) => s.split === split && s.label >= 0 && s.label < 7));
        assert.equal(new Set(listing.samples.map((s) => s.id)).size, listing.samples.length, 'ids are unique');
        // Every sample decodes to RGB with 68 points (placeholder points where the dataset has none).
        const ref = listing.samples[0];
        const d = await adapter.load(ref.landmarks ? ref : { ...ref, landmarks: new Float32Array(136) }, options);
        assert.equal(d.rgb.length, d.width * d.height * 3);
        assert.equal(d.landmarks.length, 136);
      }
    });
  }

  it('AffectNet crops the face box and moves the landmarks with it', async () => {
    const root = path.join(base, 'buildAffectnet');
    const options: DatasetOptions = { name: 'a', format: 'affectnet', root };
    const { samples } = await getAdapter('affectnet').list(options, 'validation');
    const d = await getAdapter('affectnet').load(samples[0], options);
    assert.equal(d.width, 60);
    assert.equal(d.height, 60);
    const orig = fx.points68(12, 14, 50);
    assert.ok(Math.abs(d.landmarks[0] - (orig[0] - 10)) < 1e-3);
    assert.ok(Math.abs(d.landmarks[1] - (orig[1] - 12)) < 1e-3);
  });

  it('CK+ gives subject ids and the dataset landmarks; Oulu-CASIA gives subjects', async () => {
    const ck = await getAdapter('ckplus').list({ name: 'c', format: 'ckplus', root: path.join(base, 'buildCkplus') }, 'all');
    assert.deepEqual([...new Set(ck.samples.map((s) => s.subject))].sort(), ['S005', 'S010']);
    assert.ok(ck.samples.every((s) => s.landmarks && s.landmarks.length === 136));
    const oulu = await getAdapter('oulu').list({ name: 'o', format: 'oulu', root: path.join(base, 'buildOulu') }, 'all');
    assert.deepEqual([...new Set(oulu.samples.map((s) => s.subject))].sort(), ['P001', 'P002']);
  });

  it('RAF-DB images: original reads the un-aligned files', async () => {
    const options: DatasetOptions = { name: 'r', format: 'rafdb', root: path.join(base, 'buildRafdb'), aligned: false };
    const { samples } = await getAdapter('rafdb').list(options, 'test');
    const d = await getAdapter('rafdb').load({ ...samples[0], landmarks: new Float32Array(136) }, options);
    assert.deepEqual([d.width, d.height], [120, 90]);
  });

  it('a missing root is a UserError naming the path, the layout and the env variable', async () => {
    const missing = path.join(base, 'nope');
    await assert.rejects(getAdapter('rafdb').list({ name: 'raf', format: 'rafdb', root: missing }, 'train'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, new RegExp(missing.replace(/[/\\]/g, '.')));
      assert.match(err.message, /list_patition_label\.txt/);
      assert.match(err.message, /RAFDB_ROOT/);
      return true;
    });
    await assert.rejects(getAdapter('sfew').list({ name: 's', format: 'sfew' }, 'train'), /SFEW_ROOT/);
  });

  it('bad rows become problems with file and line, never exceptions', async () => {
    const root = path.join(base, 'bad-affectnet');
    await fs.mkdir(root, { recursive: true });
    await fx.writeImage(path.join(root, 'Manually_Annotated_Images', 'x', 'ok.jpg'), 50, 50);
    const lm = fx.points68(0, 0, 40).join(';');
    const rows = [
      'subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal',
      `x/ok.jpg,0,0,50,50,${lm},1,0,0`,
      `x/ok.jpg,0,0,50,50,${lm},happy,0,0`,
      `x/ok.jpg,0,0,50,50,1;2;3,1,0,0`,
      `x/gone.jpg,0,0,50,50,${lm},1,0,0`,
    ];
    await fs.writeFile(path.join(root, 'training.csv'), rows.join('\n'));
    const { samples, problems } = await getAdapter('affectnet').list({ name: 'b', format: 'affectnet', root }, 'train');
    assert.equal(samples.length, 1);
    assert.deepEqual(problems.map((p) => [p.kind, p.line]), [['bad-label', 3], ['bad-landmarks', 4], ['missing-file', 5]]);
    assert.ok(problems.every((p) => p.file.length > 0));
  });

  it('manifest CSV: a quoted path may hold commas and "" escapes; # lines are comments', async () => {
    const root = path.join(base, 'quoted-manifest');
    const odd = 'img/say "hi", then go.png';
    await fx.writeImage(path.join(root, odd), 40, 40);
    await fx.writeImage(path.join(root, 'img/#2.png'), 40, 40);
    const csv = ['path,label,split', '# a comment line', `"img/say ""hi"", then go.png",happy,train`, 'img/#2.png,sad,train', ''].join('\r\n');
    await fs.writeFile(path.join(root, 'm.csv'), csv);
    const options: DatasetOptions = { name: 'q', format: 'manifest', root, file: 'm.csv' };
    const { samples, problems } = await getAdapter('manifest').list(options, 'train');
    assert.deepEqual(problems, []);
    assert.deepEqual(samples.map((s) => [s.id, CLASSES[s.label]]), [[odd, 'happy'], ['img/#2.png', 'sad']]);
    assert.equal(samples[0].source, path.join(root, odd));
  });

  it('an unclosed quote is a UserError naming the file', async () => {
    const root = path.join(base, 'broken-manifest');
    await fs.mkdir(root, { recursive: true });
    await fs.writeFile(path.join(root, 'm.csv'), 'path,label\n"img/a.png,happy\n');
    await assert.rejects(getAdapter('manifest').list({ name: 'b', format: 'manifest', root, file: 'm.csv' }, 'all'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /m\.csv: not a readable CSV file: Quote Not Closed/);
      return true;
    });
  });

  it('a corrupt image raises a DataError naming the file', async () => {
    const root = path.join(base, 'corrupt');
    await fs.mkdir(path.join(root, 'happy'), { recursive: true });
    await fs.writeFile(path.join(root, 'happy', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]));
    const options: DatasetOptions = { name: 'f', format: 'fedro', root };
    const { samples } = await getAdapter('fedro').list(options, 'all');
    await assert.rejects(getAdapter('fedro').load({ ...samples[0], landmarks: new Float32Array(136) }, options), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(err.kind, 'corrupt-image');
      assert.match(err.message, /broken\.jpg/);
      return true;
    });
  });
});
