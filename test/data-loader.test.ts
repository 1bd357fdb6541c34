import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Batch, DatasetAdapter, DatasetOptions, DecodedSample, SampleRef } from '../src/data/types.js';
import { createLoader, type LoaderOptions, type OccludeFn } from '../src/data/loader.js';
import { applyTransform, cropLandmarks, planTransform, resizeSideFor, transformLandmarks } from '../src/data/transforms.js';
import { DataError, decodeImageFile } from '../src/data/images.js';
import { Rng } from '../src/util/rng.js';
import { UserError } from '../src/util/errors.js';
import { tempDir } from './fixtures/datasets/build.js';

/** Brightness-weighted centroid of an RGB image (x, y in pixel-centre coordinates). */
function centroid(rgb: Uint8Array, w: number, h: number): [number, number] {
  let sx = 0, sy = 0, s = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = rgb[(y * w + x) * 3];
      sx += v * x;
      sy += v * y;
      s += v;
    }
  return [sx / s, sy / s];
}

/** A black image with one white square of side k centred on (cx, cy). */
function dotImage(w: number, h: number, cx: number, cy: number, k = 5) {
  const rgb = new Uint8Array(w * h * 3);
  const r = (k - 1) / 2;
  for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) rgb.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, rgb };
}

describe('data transforms: landmarks follow the pixels', () => {
  it('resize side is round(232/224 * S)', () => {
    assert.equal(resizeSideFor(224), 232);
    assert.equal(resizeSideFor(112), 116);
    assert.equal(resizeSideFor(64), 66);
  });

  it('maps known points exactly (test transform: centre crop)', () => {
    const plan = planTransform(112, false);
    assert.deepEqual(plan.window, { left: 2, top: 2, width: 112, height: 112 });
    // the image centre lands on the input centre; corners map by the centre-aligned rule
    const pts = transformLandmarks(Float32Array.from([49.5, 49.5, 0, 0, 99, 0]), 100, 100, plan);
    assert.ok(Math.abs(pts[0] - 55.5) < 1e-5 && Math.abs(pts[1] - 55.5) < 1e-5);
    assert.ok(Math.abs(pts[2] - (0.5 * 1.16 - 0.5 - 2)) < 1e-5);
    assert.ok(Math.abs(pts[4] - (99.5 * 1.16 - 0.5 - 2)) < 1e-5);
    assert.deepEqual(Array.from(cropLandmarks(Float32Array.from([10, 20]), { left: 3, top: 5, width: 9, height: 9 })), [7, 15]);
  });

  it('train crops are random in [0, R-S] and seeded', () => {
    const a = planTransform(64, true, new Rng(5));
    const b = planTransform(64, true, new Rng(5));
    assert.deepEqual(a, b);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = planTransform(64, true, new Rng(i));
      assert.ok(p.window.left >= 0 && p.window.left <= 2 && p.window.top >= 0 && p.window.top <= 2);
      seen.add(`${p.window.left},${p.window.top}`);
    }
    assert.equal(seen.size, 9);
  });

  for (const [name, srcW, srcH, S, train] of [
    ['downscale, test', 120, 96, 56, false],
    ['upscale, train', 40, 50, 64, true],
    ['shrink x, grow y, train', 120, 40, 56, true],
  ] as const) {
    it(`a bright dot stays under its landmark (${name})`, async () => {
      const img = dotImage(srcW, srcH, 17, 29);
      const plan = planTransform(S, train, new Rng(3));
      const out = await applyTransform(img, Float32Array.from([17, 29]), plan);
      const [cx, cy] = centroid(out.rgb, S, S);
      assert.ok(Math.abs(cx - out.landmarks[0]) < 0.35, `x: pixels ${cx} vs landmark ${out.landmarks[0]}`);
      assert.ok(Math.abs(cy - out.landmarks[1]) < 0.35, `y: pixels ${cy} vs landmark ${out.landmarks[1]}`);
    });
  }

  it('decoding a JPEG with a crop box keeps landmarks on the same pixels', async () => {
    const dir = await tempDir();
    try {
      const file = path.join(dir, 'dot.png');
      const img = dotImage(80, 60, 50, 20);
      await sharp(Buffer.from(img.rgb), { raw: { width: 80, height: 60, channels: 3 } }).png().toFile(file);
      const d = await decodeImageFile(file, { left: 30, top: 5, width: 40, height: 40 });
      const pts = cropLandmarks(Float32Array.from([50, 20]), d.crop!);
      const [cx, cy] = centroid(d.rgb, d.width, d.height);
      assert.deepEqual([cx, cy], [pts[0], pts[1]]);
      await fs.writeFile(path.join(dir, 'bad.jpg'), Buffer.from('not an image'));
      await assert.rejects(decodeImageFile(path.join(dir, 'bad.jpg')), (e: unknown) => e instanceof DataError && /bad\.jpg/.test(e.message));
      await assert.rejects(decodeImageFile(path.join(dir, 'gone.jpg')), (e: unknown) => e instanceof DataError && e.kind === 'missing-file');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** An in-memory dataset: image content is a function of the id; some ids can be made bad. */
function fakeDataset(n: number, bad: Set<number> = new Set(), calls?: { n: number }) {
  const options: DatasetOptions = { name: 'fake', format: 'fake' };
  const samples: SampleRef[] = Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    source: `mem:${i}`,
    label: i % 7,
    split: 'train',
    landmarks: Float32Array.from({ length: 136 }, (_, k) => 4 + ((k * 3 + i) % 24)),
  }));
  const adapter: DatasetAdapter = {
    format: 'fake',
    splits: () => ['train'],
    list: async () => ({ samples, problems: [] }),
    async load(ref: SampleRef): Promise<DecodedSample> {
      if (calls) calls.n++;
      const i = Number(ref.id.slice(1));
      if (bad.has(i)) throw new DataError(`/data/${ref.id}.jpg`, 'corrupt or unsupported image', 'corrupt-image');
      const w = 36, h = 32;
      const rgb = new Uint8Array(w * h * 3);
      for (let k = 0; k < rgb.length; k++) rgb[k] = (k * 7 + i * 31) & 255;
      return { id: ref.id, width: w, height: h, rgb, landmarks: ref.landmarks!, label: ref.label };
    },
  };
  return { options, samples, adapter };
}

async function take(loader: AsyncIterable<Batch>, k: number): Promise<Batch[]> {
  const out: Batch[] = [];
  if (k === 0) return out;
  for await (const b of loader) {
    out.push(b);
    if (out.length >= k) break;
  }
  return out;
}

function same(a: Batch[], b: Batch[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    assert.deepEqual(x.ids, b[i].ids, `batch ${i} ids`);
    assert.deepEqual(x.labels, b[i].labels);
    assert.ok(Buffer.from(x.images.buffer).equals(Buffer.from(b[i].images.buffer)), `batch ${i} pixels`);
    assert.deepEqual(x.landmarks, b[i].landmarks);
  });
}

/** Marks occluded samples by zeroing them; records calls. */
const fakeOcclude: OccludeFn = (image) => {
  const mask = new Uint8Array(image.width * image.height).fill(1);
  return { rgb: new Uint8Array(image.rgb.length), mask };
};

describe('data loader', () => {
  const base = (over: Partial<LoaderOptions> = {}): LoaderOptions => {
    const { options, samples, adapter } = fakeDataset(20);
    return { adapter, options, samples, inputSize: 24, train: true, batchSize: 6, seed: 11, ...over };
  };

  it('produces batches in the contract shape', async () => {
    const [b] = await take(createLoader(base()), 1);
    assert.equal(b.size, 6);
    assert.equal(b.images.length, 6 * 24 * 24 * 3);
    assert.equal(b.landmarks.length, 6 * 136);
    assert.equal(b.labels.length, 6);
    assert.ok(b.images.every((v) => v >= 0 && v <= 1));
    assert.equal(b.occluderMasks, undefined);
  });

  it('same seed, same batches; another seed, another order', async () => {
    const a = await take(createLoader(base()), 7);
    const b = await take(createLoader(base({ prefetch: 1, concurrency: 1 })), 7);
    same(a, b);
    const c = await take(createLoader(base({ seed: 12 })), 1);
    assert.notDeepEqual(c[0].ids, a[0].ids);
  });

  it('each epoch is a fresh permutation; dropLast keeps train batches full', async () => {
    const batches = await take(createLoader(base()), 6);
    assert.ok(batches.every((b) => b.size === 6));
    const e0 = batches.slice(0, 3).flatMap((b) => b.ids);
    const e1 = batches.slice(3, 6).flatMap((b) => b.ids);
    assert.equal(new Set(e0).size, 18);
    assert.notDeepEqual(e0, e1);
  });

  it('resumes from position() to exactly the batches an uninterrupted loader gives', async () => {
    const whole = await take(createLoader(base()), 8);
    for (const cut of [1, 3, 5]) {
      const first = createLoader(base());
      await take(first, cut);
      const pos = first.position();
      first.close();
      const resumed = await take(createLoader(base({ startPosition: pos })), 8 - cut);
      same(resumed, whole.slice(cut));
    }
  });

  it('a test loader makes one pass in order, with the last partial batch', async () => {
    const all = await take(createLoader(base({ train: false, batchSize: 8 })), 100);
    assert.deepEqual(all.map((b) => b.size), [8, 8, 4]);
    assert.deepEqual(all.flatMap((b) => b.ids), Array.from({ length: 20 }, (_, i) => `s${i}`));
  });

  it('occludes the requested fraction of train samples, with masks', async () => {
    const { options, samples, adapter } = fakeDataset(400);
    const loader = createLoader({ adapter, options, samples, inputSize: 16, train: true, batchSize: 50, seed: 3, occlusion: { ratio: 0.5 }, occlude: fakeOcclude, epochs: 1 });
    let occluded = 0;
    let total = 0;
    for await (const b of loader) {
      assert.ok(b.occluderMasks);
      for (let i = 0; i < b.size; i++) {
        const m = b.occluderMasks!.subarray(i * 256, (i + 1) * 256);
        if (m[0] === 1) {
          occluded++;
          assert.ok(b.images.subarray(i * 768, (i + 1) * 768).every((v) => v === 0));
        }
        total++;
      }
    }
    assert.equal(total, 400);
    assert.ok(Math.abs(occluded / total - 0.5) < 0.08, `occluded fraction ${occluded / total}`);
  });

  it('test occlusion is deterministic per (seed, id) with the real occlusion module', async () => {
    const mk = () => createLoader(base({ train: false, batchSize: 5, inputSize: 32, occlusion: { protocol: 'random-square', seed: 7 } }));
    const a = await take(mk(), 4);
    const b = await take(mk(), 4);
    same(a, b);
    assert.ok(a.every((x) => x.occluderMasks && x.occluderMasks.some((v) => v === 1)));
    // every sample occluded (ratio defaults to 1), masks identical too
    assert.deepEqual(a[0].occluderMasks, b[0].occluderMasks);
    const clean = await take(createLoader(base({ train: false, batchSize: 5, inputSize: 32 })), 1);
    assert.ok(!Buffer.from(clean[0].images.buffer).equals(Buffer.from(a[0].images.buffer)));
  });

  it('skips and counts bad samples; stops when more than maxBadFraction are bad', async () => {
    const ok = fakeDataset(40, new Set([3, 17]));
    const loader = createLoader({ adapter: ok.adapter, options: ok.options, samples: ok.samples, inputSize: 16, train: false, batchSize: 8, seed: 1 });
    const ids = (await take(loader, 100)).flatMap((b) => b.ids);
    assert.equal(ids.length, 38);
    assert.ok(!ids.includes('s3') && !ids.includes('s17'));
    assert.deepEqual(loader.problems().map((p) => p.file).sort(), ['/data/s17.jpg', '/data/s3.jpg']);

    const bad = fakeDataset(40, new Set([1, 2, 3]));
    const stop = createLoader({ adapter: bad.adapter, options: bad.options, samples: bad.samples, inputSize: 16, train: true, batchSize: 8, seed: 1 });
    await assert.rejects(take(stop, 100), (e: unknown) => e instanceof UserError && /3 of 40/.test(e.message) && /maxBadFraction/.test(e.message));
  });

  it('caches transformed test samples in memory across passes', async () => {
    const calls = { n: 0 };
    const { options, samples, adapter } = fakeDataset(30, new Set(), calls);
    const mk = (cache?: number) => createLoader({ adapter, options, samples, inputSize: 16, train: false, batchSize: 8, seed: 1, epochs: 3, testCacheBytes: cache });
    const cached = await take(mk(), 100);
    assert.equal(calls.n, 30);
    calls.n = 0;
    const uncached = await take(mk(0), 100);
    assert.equal(calls.n, 90);
    same(cached, uncached);
  });

  it('decodes ahead of the consumer (prefetch)', async () => {
    const calls = { n: 0 };
    const { options, samples, adapter } = fakeDataset(200, new Set(), calls);
    let full: () => void;
    const filled = new Promise<void>((r) => (full = r));
    const loader = createLoader({ adapter, options, samples, inputSize: 16, train: true, batchSize: 10, seed: 1, prefetch: 3, onPrefetchFull: () => full() });
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    // The prefetcher stops once 3 batches wait (an unbounded one would never say so).
    await filled;
    assert.ok(calls.n >= 30, `decoded ${calls.n} samples while the consumer held one batch`);
    assert.ok(calls.n <= 40, `prefetch is bounded (decoded ${calls.n})`);
    loader.close();
  });
});
