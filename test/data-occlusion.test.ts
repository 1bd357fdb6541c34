import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  ckBlockSide, coveredPoints, loadOccluderFolder, occlude, occlusionRng, PROCEDURAL_KINDS, prepareOcclusion,
  squareSideRange, type OcclusionProtocol, type OcclusionResult,
} from '../src/data/occlusion/index.js';
import { parseSyntheticOptions, renderSynthetic } from '../src/data/synthetic/index.js';
import type { DecodedSample } from '../src/data/types.js';
import { UserError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

function face(size: number, index = 0): DecodedSample {
  return renderSynthetic(parseSyntheticOptions({ name: 's', format: 'synthetic', seed: 3, size }), 'test', index);
}

/** Every changed pixel is masked, and the mask stays inside the occluder's box. */
function assertMaskHonest(img: DecodedSample, out: OcclusionResult): void {
  const { width, height } = img;
  let masked = 0;
  for (let i = 0; i < width * height; i++) {
    const changed = img.rgb[3 * i] !== out.rgb[3 * i] || img.rgb[3 * i + 1] !== out.rgb[3 * i + 1] || img.rgb[3 * i + 2] !== out.rgb[3 * i + 2];
    if (changed) assert.equal(out.mask[i], 1, `pixel ${i % width},${Math.floor(i / width)} changed but not masked (${out.kind})`);
    if (out.mask[i]) {
      masked++;
      const x = i % width;
      const y = Math.floor(i / width);
      assert.ok(x >= out.box.x && x < out.box.x + out.box.w && y >= out.box.y && y < out.box.y + out.box.h, `mask outside box (${out.kind})`);
    }
  }
  assert.ok(masked > 0, `empty mask (${out.kind})`);
}

describe('occlusion synthesis', () => {
  for (const size of [48, 64, 112, 128, 224]) {
    it(`random-square: side in [96,128]*${size}/224, inside the image, at ${size}px`, () => {
      const img = face(size);
      const [lo, hi] = squareSideRange(size);
      if (size === 224) assert.deepEqual([lo, hi], [96, 128]);
      const rng = new Rng(size);
      const sides = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const out = occlude(img, img.landmarks, { protocol: 'random-square' }, rng);
        assert.equal(out.box.w, out.box.h);
        assert.ok(out.box.w >= lo && out.box.w <= hi, `side ${out.box.w} not in [${lo}, ${hi}]`);
        assert.ok(out.box.x >= 0 && out.box.y >= 0 && out.box.x + out.box.w <= size && out.box.y + out.box.h <= size);
        sides.add(out.box.w);
        assertMaskHonest(img, out);
      }
      assert.ok(sides.size > 1 || lo === hi);
    });
  }

  it('draws every procedural occluder kind, object-shaped, covering a good part of its box', () => {
    const img = face(128);
    for (const kind of PROCEDURAL_KINDS) {
      const out = occlude(img, img.landmarks, { protocol: 'random-square', kinds: [kind] }, new Rng(1));
      assert.equal(out.kind, kind);
      assertMaskHonest(img, out);
      let n = 0;
      for (const v of out.mask) n += v;
      const frac = n / (out.box.w * out.box.h);
      assert.ok(frac > 0.2, `${kind} covers ${frac} of its box`);
    }
  });

  it('test-time occlusion is a pure function of (seed, sample id)', () => {
    const img = face(96, 4);
    for (const protocol of ['random-square', 'ck-r16', 'eyes'] as OcclusionProtocol[]) {
      const a = occlude(img, img.landmarks, { protocol }, occlusionRng(7, 'synthetic:3:test:4'));
      const b = occlude(img, img.landmarks, { protocol }, occlusionRng(7, 'synthetic:3:test:4'));
      assert.deepEqual(a.rgb, b.rgb);
      assert.deepEqual(a.mask, b.mask);
      assert.deepEqual(a.box, b.box);
    }
    const c = occlude(img, img.landmarks, { protocol: 'random-square' }, occlusionRng(7, 'synthetic:3:test:5'));
    const d = occlude(img, img.landmarks, { protocol: 'random-square' }, occlusionRng(8, 'synthetic:3:test:4'));
    const a = occlude(img, img.landmarks, { protocol: 'random-square' }, occlusionRng(7, 'synthetic:3:test:4'));
    assert.ok(!Buffer.from(a.mask).equals(Buffer.from(c.mask)) || a.kind !== c.kind);
    assert.ok(!Buffer.from(a.mask).equals(Buffer.from(d.mask)) || a.kind !== d.kind);
  });

  it('CK+ blocks are sized on the 48 px face crop and placed on the face when the face is known', () => {
    const img = face(96);
    const sq = { x: 40, y: 20, side: 48 };
    for (const [protocol, base] of [['ck-r8', 8], ['ck-r16', 16], ['ck-r24', 24]] as const) {
      for (let i = 0; i < 20; i++) {
        const out = occlude(img, img.landmarks, { protocol }, new Rng(i), sq);
        assert.deepEqual([out.box.w, out.box.h], [base, base]);
        assert.ok(out.box.x >= sq.x && out.box.x + base <= sq.x + sq.side, `x ${out.box.x}`);
        assert.ok(out.box.y >= sq.y && out.box.y + base <= sq.y + sq.side, `y ${out.box.y}`);
      }
    }
    // A face half outside the image: the block stays inside the image.
    const out = occlude(img, img.landmarks, { protocol: 'ck-r24' }, new Rng(3), { x: 70, y: -30, side: 96 });
    assert.equal(out.box.w, 48);
    assert.ok(out.box.x + 48 <= 96 && out.box.y >= 0);
  });

  for (const size of [48, 96]) {
    it(`CK+ blocks R8/R16/R24 scale with the image (${size}px) and mask exactly the block`, () => {
      const img = face(size);
      for (const [protocol, base] of [['ck-r8', 8], ['ck-r16', 16], ['ck-r24', 24]] as const) {
        const s = ckBlockSide(protocol, size);
        assert.equal(s, Math.round((base * size) / 48));
        for (let i = 0; i < 5; i++) {
          const out = occlude(img, img.landmarks, { protocol }, new Rng(i));
          let n = 0;
          for (const v of out.mask) n += v;
          assert.equal(n, s * s);
          assert.deepEqual([out.box.w, out.box.h], [s, s]);
          assertMaskHonest(img, out);
        }
      }
    });
  }

  it('eyes / mouth blocks cover landmarks 37-48 / 49-68 and leave the other region visible', () => {
    for (const size of [48, 128]) {
      for (let i = 0; i < 7; i++) {
        const img = face(size, i);
        const eyes = occlude(img, img.landmarks, { protocol: 'eyes' }, new Rng(0));
        const mouth = occlude(img, img.landmarks, { protocol: 'mouth', blockFill: 'noise' }, new Rng(0));
        assertMaskHonest(img, eyes);
        assertMaskHonest(img, mouth);
        const eyeCov = coveredPoints(eyes.mask, size, img.landmarks);
        const mouthCov = coveredPoints(mouth.mask, size, img.landmarks);
        for (let k = 36; k < 48; k++) assert.ok(eyeCov[k], `eye landmark ${k + 1} not covered at ${size}px`);
        for (let k = 48; k < 68; k++) assert.ok(mouthCov[k], `mouth landmark ${k + 1} not covered at ${size}px`);
        for (let k = 48; k < 68; k++) assert.ok(!eyeCov[k], 'eye block reaches the mouth');
        for (let k = 36; k < 48; k++) assert.ok(!mouthCov[k], 'mouth block reaches the eyes');
      }
    }
  });

  it('coveredPoints reads the mask at the nearest pixel; outside points are uncovered', () => {
    const w = 10;
    const mask = new Uint8Array(w * 8);
    mask[3 * w + 4] = 1;
    const pts = new Float32Array([4, 3, 4.4, 2.6, 5, 3, -1, 3, 4, 20]);
    assert.deepEqual(coveredPoints(mask, w, pts), [true, true, false, false, false]);
  });

  it('loads a user folder: PNG with alpha and image + mask pairs', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acnn-occ-'));
    try {
      // Left half opaque red, right half transparent.
      const rgba = Buffer.alloc(40 * 40 * 4);
      for (let y = 0; y < 40; y++) for (let x = 0; x < 20; x++) rgba.set([255, 0, 0, 255], 4 * (y * 40 + x));
      await sharp(rgba, { raw: { width: 40, height: 40, channels: 4 } }).png().toFile(path.join(dir, 'half.png'));
      await sharp({ create: { width: 30, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } }).jpeg().toFile(path.join(dir, 'cup.jpg'));
      const m = Buffer.alloc(30 * 30);
      for (let y = 0; y < 15; y++) m.fill(255, y * 30, y * 30 + 30);
      await sharp(m, { raw: { width: 30, height: 30, channels: 1 } }).png().toFile(path.join(dir, 'cup_mask.png'));
      await fs.writeFile(path.join(dir, 'notes.txt'), 'ignored');

      const bank = await loadOccluderFolder(dir);
      assert.deepEqual(bank.items.map((i) => i.name).sort(), ['cup.jpg', 'half.png']);
      const options = await prepareOcclusion({ protocol: 'random-square', occluders: dir });
      const img = face(224);
      const kinds = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const out = occlude(img, img.landmarks, options, occlusionRng(1, `s${i}`));
        assert.ok(out.kind.startsWith('folder:'));
        kinds.add(out.kind);
        assertMaskHonest(img, out);
        let n = 0;
        for (const v of out.mask) n += v;
        // Both fixtures cover half their square.
        const frac = n / (out.box.w * out.box.h);
        assert.ok(frac > 0.4 && frac < 0.6, `${out.kind} covers ${frac}`);
      }
      assert.equal(kinds.size, 2);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a bad protocol, an empty folder or a corrupt occluder as user errors', async () => {
    await assert.rejects(prepareOcclusion({ protocol: 'random-circle' }), UserError);
    await assert.rejects(prepareOcclusion({ kinds: ['umbrella'] }), UserError);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acnn-occ-'));
    try {
      await assert.rejects(loadOccluderFolder(dir), UserError);
      await fs.writeFile(path.join(dir, 'broken.png'), 'not an image');
      await assert.rejects(loadOccluderFolder(dir), /broken\.png/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    await assert.rejects(loadOccluderFolder('/nonexistent/acnn-occluders'), UserError);
  });

  it("protocol 'none' returns an untouched copy with an empty mask", () => {
    const img = face(48);
    const out = occlude(img, img.landmarks, { protocol: 'none' }, new Rng(1));
    assert.deepEqual(out.rgb, img.rgb);
    assert.ok(out.mask.every((v) => v === 0));
  });
});
