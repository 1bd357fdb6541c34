/**
 * The synthetic families (style: wild | hard | lab): lab subjects with neutral + peak frames of
 * their sequences, subject-independent folds, disjoint datasets by seed, frontal plain-backdrop
 * lab frames, determinism, and the default faces' cache key left as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cropSettings } from '../src/data/face-crop.js';
import { hardFaceSpec, labFaceSpec, labFrame, STYLE_DEFAULTS } from '../src/data/synthetic/families.js';
import { parseSyntheticOptions, renderKey, renderSynthetic, sampleFaceSpec, SYNTHETIC_VERSION, syntheticAdapter, syntheticLabel } from '../src/data/synthetic/index.js';
import { NUM_CLASSES, type SampleRef } from '../src/data/types.js';
import { assignFolds } from '../src/train/prepare-data.js';
import { UserError } from '../src/util/errors.js';

const lab = (extra: Record<string, unknown> = {}) => ({ name: 'ck', format: 'synthetic', style: 'lab', seed: 5, imageSize: 64, subjects: 12, expressions: 3, ...extra });

/** Roll of the eye line (radians) from the 68 landmarks. */
function roll(p: Float32Array): number {
  const c = (k: number) => [0, 1].map((d) => [0, 1, 2, 3, 4, 5].reduce((s, i) => s + p[2 * (k + i) + d], 0) / 6);
  const [l, r] = [c(36), c(42)];
  return Math.atan2(r[1] - l[1], r[0] - l[0]);
}

/** Std of the pixel values in a square at the top-left corner of an RGB image, mean over the channels. */
function cornerStd(rgb: Uint8Array, size: number, side: number): number {
  let sum = 0;
  for (let ch = 0; ch < 3; ch++) {
    const v: number[] = [];
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) v.push(rgb[(y * size + x) * 3 + ch]);
    const m = v.reduce((a, b) => a + b) / v.length;
    sum += Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  }
  return sum / 3;
}

describe('synthetic families', () => {
  it('the default faces keep their cache key (style wild, not grey, adds nothing)', () => {
    const o = parseSyntheticOptions({ name: 's', format: 'synthetic', seed: 1, imageSize: 64 });
    const old = createHash('sha256').update(JSON.stringify({ v: SYNTHETIC_VERSION, size: 64, intensity: [0.35, 1], noise: [1, 6] })).digest('hex');
    assert.equal(renderKey(o), `64px-${old.slice(0, 10)}`);
    assert.equal(renderKey(parseSyntheticOptions({ name: 's', format: 'synthetic', style: 'wild', seed: 1, imageSize: 64 })), renderKey(o));
    const keys = new Set([o, parseSyntheticOptions(lab()), parseSyntheticOptions(lab({ grey: true })), parseSyntheticOptions(lab({ expressions: 2 })), parseSyntheticOptions({ name: 's', format: 'synthetic', style: 'hard', imageSize: 64 })].map(renderKey));
    assert.equal(keys.size, 5, 'style, grey and sequences per subject enter the key');
  });

  it('lab: each subject has a neutral (first) and a peak (last) frame of each of its sequences, one expression each', async () => {
    const options = lab();
    assert.deepEqual(syntheticAdapter.splits(options), ['all']);
    const { samples } = await syntheticAdapter.list(options, 'all');
    assert.equal(samples.length, 12 * 3 * 2);
    const bySubject = new Map<string, SampleRef[]>();
    for (const s of samples) bySubject.set(s.subject!, [...(bySubject.get(s.subject!) ?? []), s]);
    assert.equal(bySubject.size, 12);
    assert.ok(bySubject.has('S001') && bySubject.has('S012'));
    const counts = new Array(NUM_CLASSES).fill(0);
    for (const refs of bySubject.values()) {
      assert.equal(refs.length, 6);
      const frames = refs.map((_, k) => labFrame(5, 3, samples.indexOf(refs[k])));
      const expressions = new Set(frames.map((f) => f.expression));
      assert.equal(expressions.size, 3, 'three different expressions');
      for (const f of frames) assert.equal(f.label, f.frame === 0 ? 0 : f.expression);
      for (const e of expressions) assert.deepEqual(frames.filter((f) => f.expression === e).map((f) => f.frame).sort(), [0, 1], 'a neutral and a peak frame per sequence');
      for (const r of refs) counts[r.label]++;
    }
    assert.equal(counts[0], 36, 'half the frames are neutral, as in CK+');
    assert.ok(counts.slice(1).every((c) => c > 0), `every expression posed by someone: ${counts}`);
  });

  it('lab: one person per subject across frames, peak frames at high intensity, neutral frames at none', () => {
    const o = STYLE_DEFAULTS.lab;
    const frames = Array.from({ length: 24 }, (_, i) => ({ f: labFrame(5, 3, i), spec: labFaceSpec(5, i, 3, o) }));
    for (const a of frames) {
      for (const b of frames) {
        assert.equal(JSON.stringify(a.spec.identity) === JSON.stringify(b.spec.identity), a.f.subject === b.f.subject, 'identity is the subject');
        if (a.f.subject === b.f.subject) assert.deepEqual(a.spec.appearance, b.spec.appearance);
      }
      if (a.f.frame === 1) assert.ok(a.spec.intensity >= 0.8 && a.spec.intensity <= 1.05, `peak intensity ${a.spec.intensity}`);
      else assert.equal(a.spec.intensity, 0);
    }
  });

  it('lab: frontal frames on a plain backdrop, cropped to the face by default; wild and hard faces are not', () => {
    const size = 64;
    const l = parseSyntheticOptions(lab({ subjects: 20 }));
    const w = parseSyntheticOptions({ name: 'w', format: 'synthetic', seed: 5, imageSize: size });
    const h = parseSyntheticOptions({ name: 'h', format: 'synthetic', style: 'hard', seed: 5, imageSize: size });
    const labRolls: number[] = [];
    const labCorners: number[] = [];
    const wildCorners: number[] = [];
    const hardRolls: number[] = [];
    for (let i = 0; i < 40; i++) {
      const s = renderSynthetic(l, 'all', i);
      labRolls.push(Math.abs(roll(s.landmarks)));
      labCorners.push(cornerStd(s.rgb, size, 8));
      wildCorners.push(cornerStd(renderSynthetic(w, 'train', i).rgb, size, 8));
      hardRolls.push(Math.abs(roll(renderSynthetic(h, 'train', i).landmarks)));
    }
    assert.ok(Math.max(...labRolls) < 0.08, `lab roll up to ${Math.max(...labRolls)} rad`);
    assert.ok(Math.max(...hardRolls) > 0.2, `hard roll up to ${Math.max(...hardRolls)} rad`);
    // A plain backdrop: only sensor noise in the corner (lab noise std 1-3); wild corners hold gradients and clutter.
    assert.ok(Math.max(...labCorners) < 4, `lab corner std up to ${Math.max(...labCorners)}`);
    assert.ok(wildCorners.reduce((a, b) => a + b) / 40 > 2 * (labCorners.reduce((a, b) => a + b) / 40));
    assert.equal(cropSettings(lab()).mode, 'face');
    assert.equal(cropSettings({ name: 'w', format: 'synthetic' }).mode, 'none');
  });

  it('hard: the wild face of the same sample under harsher conditions and weaker expressions', () => {
    const label = syntheticLabel(3, 'test', 7);
    const wild = sampleFaceSpec(3, 'test', 7, label, STYLE_DEFAULTS.hard);
    const hard = hardFaceSpec(3, 'test', 7, label, STYLE_DEFAULTS.hard);
    assert.deepEqual(hard.identity, wild.identity);
    assert.ok(hard.lightStrength >= 0.2);
    const peaks = Array.from({ length: 70 }, (_, i) => hardFaceSpec(3, 'test', i, syntheticLabel(3, 'test', i), STYLE_DEFAULTS.hard)).filter((s) => s.label !== 0);
    assert.ok(peaks.every((s) => s.intensity <= 0.85));
  });

  it('datasets with different seeds share no face; the same options give the same bytes', async () => {
    const a = await syntheticAdapter.list(lab({ seed: 11 }), 'all');
    const b = await syntheticAdapter.list(lab({ seed: 12 }), 'all');
    const ids = new Set(a.samples.map((s) => s.id));
    assert.ok(b.samples.every((s) => !ids.has(s.id)));
    const identities = (seed: number) => new Set(Array.from({ length: 12 }, (_, k) => JSON.stringify(labFaceSpec(seed, k * 6, 3, STYLE_DEFAULTS.lab).identity)));
    const ia = identities(11);
    assert.equal(ia.size, 12);
    assert.ok([...identities(12)].every((id) => !ia.has(id)), 'no subject of one seed is a subject of the other');
    const o = parseSyntheticOptions(lab({ seed: 11, grey: true }));
    const x = renderSynthetic(o, 'all', 9);
    assert.deepEqual(renderSynthetic(parseSyntheticOptions(lab({ seed: 11, grey: true })), 'all', 9).rgb, x.rgb);
    for (let i = 0; i < x.rgb.length; i += 3) assert.ok(x.rgb[i] === x.rgb[i + 1] && x.rgb[i] === x.rgb[i + 2], 'grey');
    assert.deepEqual(Array.from(x.landmarks), Array.from(a.samples[9].landmarks!), 'grey changes no geometry');
  });

  it('lab: 10 subject-independent folds keep each subject in one fold', async () => {
    const { samples } = await syntheticAdapter.list(lab({ subjects: 30 }), 'all');
    const folds = assignFolds(samples, { k: 10, groupBy: 'subject', seed: 1 });
    const foldOf = new Map<string, number>();
    for (const s of samples) {
      const f = folds.get(s.id)!;
      assert.equal(foldOf.get(s.subject!) ?? f, f, `${s.subject} in two folds`);
      foldOf.set(s.subject!, f);
    }
    const sizes = new Array(10).fill(0);
    for (const f of folds.values()) sizes[f]++;
    assert.deepEqual(sizes, new Array(10).fill(18), 'three subjects of 6 frames per fold');
  });

  it('rejects keys the family would ignore and bad values, as user errors', async () => {
    assert.throws(() => parseSyntheticOptions(lab({ train: 10 })), (e: Error) => e instanceof UserError && /train does not apply to style lab/.test(e.message));
    assert.throws(() => parseSyntheticOptions({ name: 'w', format: 'synthetic', subjects: 4 }), (e: Error) => e instanceof UserError && /subjects does not apply to style wild/.test(e.message));
    assert.throws(() => parseSyntheticOptions(lab({ expressions: 7 })), UserError);
    assert.throws(() => parseSyntheticOptions(lab({ style: 'studio' })), /style must be one of wild, hard, lab/);
    assert.throws(() => parseSyntheticOptions(lab({ grey: 'yes' })), UserError);
    await assert.rejects(syntheticAdapter.list(lab(), 'train'), /has no split 'train' \(all\)/);
  });
});
