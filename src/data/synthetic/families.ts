/**
 * Families of the synthetic dataset (the `style` option), standing for the kinds of dataset the
 * paper evaluates on (its section IV.A.1), so that Tables III-V's protocols run without them:
 *
 *  - `wild` (the default): the built-in faces as they always were: roll, scale and position
 *    vary, cluttered backgrounds, directional light, random expression intensity. Stands for
 *    RAF-DB and AffectNet.
 *  - `hard`: the wild faces under more roll, harsher light and exposure, more noise and weaker
 *    expressions. Stands for SFEW (frames of films).
 *  - `lab`: posed recordings of a fixed pool of subjects, as CK+, MMI and Oulu-CASIA are. Each
 *    subject (an identity and an appearance, the same in every frame) poses `expressions`
 *    sequences, one per expression, from neutral to the peak; the dataset holds the first
 *    (neutral) and last (peak) frame of each sequence, as the paper selects them. Frontal,
 *    studio-lit, a plain backdrop, high intensity at the peak; the face fills about half of
 *    the frame (a full frame: the format's default crop for lab is `face`, as for CK+).
 *
 * Every family is a FaceSpec-level change: the drawing (render.ts) is the same for all.
 * Disjoint sets come from distinct seeds (every identity is drawn from its seed).
 */
import { deriveSeed, Rng } from '../../util/rng.js';
import { NUM_CLASSES } from '../types.js';
import { sampleFaceSpec, type FaceSpec, type SpecOptions } from './render.js';

export const SYNTHETIC_STYLES = ['wild', 'hard', 'lab'] as const;
export type SyntheticStyle = (typeof SYNTHETIC_STYLES)[number];

/** Expression intensity (non-neutral faces; the peak frame in lab) and pixel noise, per family. */
export const STYLE_DEFAULTS: Readonly<Record<SyntheticStyle, SpecOptions>> = {
  wild: { intensity: [0.35, 1.0], noise: [1, 6] },
  hard: { intensity: [0.25, 0.85], noise: [3, 12] },
  lab: { intensity: [0.8, 1.05], noise: [1, 3] },
};

/** Sequences per lab subject, at most one per non-neutral expression. */
export const MAX_EXPRESSIONS = NUM_CLASSES - 1;

/** One frame of a lab recording. */
export interface LabFrame {
  subject: number;
  /** Which of the subject's sequences. */
  sequence: number;
  /** 0: the first frame (neutral), 1: the last frame (the peak). */
  frame: 0 | 1;
  /** The sequence's expression (a class index, 1..6). */
  expression: number;
  /** The frame's label: neutral for the first frame, the expression for the peak. */
  label: number;
}

/** The expressions a subject poses: a subject's own subset of the six, so pools differ per seed. */
function subjectExpressions(seed: number, subject: number, perSubject: number): number[] {
  const all = Array.from({ length: MAX_EXPRESSIONS }, (_, i) => i + 1);
  return new Rng(deriveSeed(seed, 'lab-expressions', subject)).shuffle(all).slice(0, perSubject);
}

/** Sample index -> (subject, sequence, frame): subject-major, two frames per sequence. */
export function labFrame(seed: number, perSubject: number, index: number): LabFrame {
  const frame = (index % 2) as 0 | 1;
  const sequence = Math.floor(index / 2) % perSubject;
  const subject = Math.floor(index / (2 * perSubject));
  const expression = subjectExpressions(seed, subject, perSubject)[sequence];
  return { subject, sequence, frame, expression, label: frame === 0 ? 0 : expression };
}

/** Subject ids as CK+ writes them (S005), for subject-independent folds. */
export function labSubjectId(subject: number): string {
  return `S${String(subject + 1).padStart(3, '0')}`;
}

/**
 * One lab frame. Identity and appearance come from the subject's own stream (so every frame of
 * a subject is the same person), the expression from the frame's, pose and exposure from the
 * sequence's (one recording: the peak frame sits where the neutral frame sat, give or take a
 * little head motion), the backdrop from the dataset's seed (one studio), tinted per subject.
 */
export function labFaceSpec(seed: number, index: number, perSubject: number, opts: SpecOptions): FaceSpec {
  const f = labFrame(seed, perSubject, index);
  const person = sampleFaceSpec(seed, 'lab-subject', f.subject, 0, opts);
  const face = sampleFaceSpec(seed, `lab-sequence-${f.subject}-${f.sequence}`, f.frame, f.label, opts);
  const studio = new Rng(deriveSeed(seed, 'lab-studio'));
  const sitter = new Rng(deriveSeed(seed, 'lab-sitter', f.subject));
  const take = new Rng(deriveSeed(seed, 'lab-take', f.subject, f.sequence));
  const motion = new Rng(deriveSeed(seed, 'lab-frame', f.subject, f.sequence, f.frame));
  const grey = studio.uniform(150, 215);
  const tint = studio.uniform(-12, 12);
  const backdrop: [number, number, number] = [grey + tint + sitter.uniform(-6, 6), grey + sitter.uniform(-6, 6), grey - tint + sitter.uniform(-6, 6)];
  return {
    ...person,
    label: f.label,
    intensity: face.intensity,
    left: face.left,
    right: face.right,
    angle: clamp(take.normal(0, 0.02) + motion.normal(0, 0.005), -0.06, 0.06),
    scaleFrac: sitter.uniform(0.44, 0.52),
    dx: take.uniform(-0.04, 0.04) + motion.uniform(-0.005, 0.005),
    // A little below the centre: the frame holds the whole head and the shoulders.
    dy: 0.06 + take.uniform(-0.03, 0.03) + motion.uniform(-0.005, 0.005),
    background: [backdrop, backdrop],
    backgroundAngle: 0,
    clutter: [],
    // Even studio light: no directional gradient, exposure and contrast held close to nominal.
    lightAngle: 0,
    lightStrength: 0,
    brightness: take.uniform(-4, 4),
    contrast: take.uniform(0.96, 1.04),
    noiseStd: motion.uniform(opts.noise[0], opts.noise[1]),
    noiseSeed: deriveSeed(seed, 'lab-noise', index),
  };
}

/** A wild face made harder: more roll and scale change, harsh directional light and exposure. */
export function hardFaceSpec(seed: number, split: string, index: number, label: number, opts: SpecOptions): FaceSpec {
  const base = sampleFaceSpec(seed, split, index, label, opts);
  const r = new Rng(deriveSeed(seed, 'synthetic-hard', split, index));
  return {
    ...base,
    angle: clamp(r.normal(0, 0.22), -0.5, 0.5),
    scaleFrac: r.uniform(0.56, 0.86),
    dx: r.uniform(-0.08, 0.08),
    dy: r.uniform(-0.06, 0.08),
    lightStrength: r.uniform(0.2, 0.5),
    brightness: r.uniform(-50, 30),
    contrast: r.uniform(0.55, 1.1),
  };
}

/** Grey images (a near-infrared camera, as Oulu-CASIA's NI set): luma in all three channels. */
export function toGrey(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const y = Math.round(0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2]);
    out[i] = y;
    out[i + 1] = y;
    out[i + 2] = y;
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
