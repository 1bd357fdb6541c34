/**
 * Draws a synthetic face with @napi-rs/canvas (Skia). Every facial feature is drawn through
 * its own landmarks, so the 68 points returned are exactly where the features are.
 *
 * Landmarks follow the dlib convention: pixel (i, j) has its centre at (i, j). Canvas
 * coordinates put pixel centres at +0.5, hence the half-pixel shift on the transform.
 */
import { createCanvas, type SKRSContext2D, type Canvas } from '@napi-rs/canvas';
import { deriveSeed, Rng } from '../../util/rng.js';
import {
  applyPose, faceLandmarks, fitPose, makePose, sampleActions, sampleIdentity,
  type Actions, type Identity, type Pose,
} from './face.js';

type RGB = [number, number, number];

export interface Appearance {
  skin: RGB;
  hair: RGB;
  brow: RGB;
  iris: RGB;
  lip: RGB;
  shirt: RGB;
  /** 0 bald/shaved, 1 short, 2 long, 3 bangs, 4 side part. */
  hairStyle: number;
  hasEars: boolean;
  gazeX: number;
  gazeY: number;
}

export interface ClutterShape {
  kind: 0 | 1 | 2 | 3;
  /** Fractions of the image side, so a face looks the same at every render size. */
  x: number;
  y: number;
  w: number;
  h: number;
  rot: number;
  color: RGB;
  alpha: number;
}

/** Everything needed to draw one face; sampled once, size independent. */
export interface FaceSpec {
  label: number;
  intensity: number;
  identity: Identity;
  left: Actions;
  right: Actions;
  appearance: Appearance;
  angle: number;
  scaleFrac: number;
  dx: number;
  dy: number;
  background: [RGB, RGB];
  backgroundAngle: number;
  clutter: ClutterShape[];
  lightAngle: number;
  lightStrength: number;
  brightness: number;
  contrast: number;
  noiseStd: number;
  noiseSeed: number;
}

export interface SpecOptions {
  /** Expression intensity range for non-neutral classes. */
  intensity: readonly [number, number];
  /** Pixel noise standard deviation range (0-255 scale). */
  noise: readonly [number, number];
}

const HAIR: RGB[] = [
  [26, 20, 16], [45, 30, 20], [70, 44, 26], [107, 68, 35], [150, 105, 60], [200, 160, 100], [130, 55, 28], [160, 156, 150],
];
const IRIS: RGB[] = [[60, 38, 22], [90, 60, 30], [55, 85, 110], [70, 100, 60], [35, 25, 20]];

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
function jitter(c: RGB, rng: Rng, amount: number): RGB {
  return c.map((v) => Math.max(0, Math.min(255, v + rng.uniform(-amount, amount)))) as RGB;
}
function css(c: RGB, alpha = 1): string {
  const r = Math.round(Math.max(0, Math.min(255, c[0])));
  const g = Math.round(Math.max(0, Math.min(255, c[1])));
  const b = Math.round(Math.max(0, Math.min(255, c[2])));
  return alpha >= 1 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${alpha.toFixed(3)})`;
}
function shade(c: RGB, k: number): RGB {
  return [c[0] * k, c[1] * k, c[2] * k];
}

function perSide(a: Actions, rng: Rng): Actions {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof Actions)[]) out[k] = out[k] * rng.uniform(0.88, 1.12);
  return out;
}

/** Samples a face; each aspect has its own derived stream so changing one never shifts the others. */
export function sampleFaceSpec(seed: number, split: string, index: number, label: number, opts: SpecOptions): FaceSpec {
  const r = (part: string): Rng => new Rng(deriveSeed(seed, 'synthetic', split, index, part));
  const idRng = r('identity');
  const identity = sampleIdentity(idRng);
  const exRng = r('expression');
  const { actions, intensity } = sampleActions(label, exRng, opts.intensity);
  const left = perSide(actions, exRng);
  const right = perSide(actions, exRng);

  const ap = r('appearance');
  const skin = jitter(mix([92, 58, 40], [246, 214, 192], Math.pow(ap.next(), 0.8)), ap, 10);
  const hair = jitter(ap.pick(HAIR), ap, 8);
  const appearance: Appearance = {
    skin,
    hair,
    brow: mix(hair, [20, 14, 10], 0.45),
    iris: jitter(ap.pick(IRIS), ap, 10),
    lip: mix(shade(skin, 0.78), [170, 60, 70], ap.uniform(0.25, 0.5)),
    shirt: [ap.int(20, 230), ap.int(20, 230), ap.int(20, 230)],
    hairStyle: ap.int(0, 4),
    hasEars: ap.next() < 0.8,
    gazeX: ap.uniform(-0.25, 0.25),
    gazeY: ap.uniform(-0.15, 0.15),
  };

  const po = r('pose');
  const angle = Math.max(-0.26, Math.min(0.26, po.normal(0, 0.09)));
  const scaleFrac = po.uniform(0.64, 0.76);
  const dx = po.uniform(-0.04, 0.04);
  const dy = po.uniform(-0.03, 0.04);

  const bg = r('background');
  const base: RGB = [bg.int(10, 245), bg.int(10, 245), bg.int(10, 245)];
  const background: [RGB, RGB] = [base, jitter(base, bg, 70)];
  const clutter: ClutterShape[] = [];
  const nClutter = bg.int(2, 8);
  for (let i = 0; i < nClutter; i++) {
    clutter.push({
      kind: bg.int(0, 3) as 0 | 1 | 2 | 3,
      x: bg.uniform(-0.1, 1.0),
      y: bg.uniform(-0.1, 1.0),
      w: bg.uniform(0.05, 0.45),
      h: bg.uniform(0.05, 0.45),
      rot: bg.uniform(0, Math.PI),
      color: [bg.int(0, 255), bg.int(0, 255), bg.int(0, 255)],
      alpha: bg.uniform(0.25, 0.9),
    });
  }
  const li = r('lighting');
  return {
    label, intensity, identity, left, right, appearance, angle, scaleFrac, dx, dy, background,
    backgroundAngle: bg.uniform(0, 2 * Math.PI), clutter,
    lightAngle: li.uniform(0, 2 * Math.PI),
    lightStrength: li.uniform(0, 0.28),
    brightness: li.uniform(-18, 18),
    contrast: li.uniform(0.82, 1.12),
    noiseStd: li.uniform(opts.noise[0], opts.noise[1]),
    noiseSeed: deriveSeed(seed, 'synthetic', split, index, 'noise'),
  };
}

interface Surface {
  canvas: Canvas;
  ctx: SKRSContext2D;
}
// One canvas per render size: creating a Skia surface costs more than drawing a face.
const surfaces = new Map<number, Surface>();
function surface(size: number): Surface {
  let s = surfaces.get(size);
  if (!s) {
    const canvas = createCanvas(size, size);
    s = { canvas, ctx: canvas.getContext('2d') };
    surfaces.set(size, s);
  }
  return s;
}

type Pt = [number, number];
function pt(p: Float64Array, n: number): Pt {
  return [p[2 * (n - 1)], p[2 * (n - 1) + 1]];
}
function pts(p: Float64Array, ...ns: number[]): Pt[] {
  return ns.map((n) => pt(p, n));
}
function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/** Catmull-Rom spline through the points, so curves pass exactly through the landmarks. */
function spline(ctx: SKRSContext2D, q: Pt[], closed: boolean, move = true): void {
  const n = q.length;
  const at = (i: number): Pt => (closed ? q[(i + n) % n] : q[Math.max(0, Math.min(n - 1, i))]);
  if (move) ctx.moveTo(q[0][0], q[0][1]);
  const segs = closed ? n : n - 1;
  for (let i = 0; i < segs; i++) {
    const p0 = at(i - 1);
    const p1 = at(i);
    const p2 = at(i + 1);
    const p3 = at(i + 2);
    ctx.bezierCurveTo(
      p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6,
      p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6,
      p2[0], p2[1],
    );
  }
  if (closed) ctx.closePath();
}

export interface RenderedFace {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** 68 points, x0,y0,..., image pixels (dlib convention). */
  landmarks: Float32Array;
  label: number;
}

export function renderFace(spec: FaceSpec, size: number): RenderedFace {
  const geo = faceLandmarks(spec.identity, spec.left, spec.right);
  const p = geo.points;
  const pose: Pose = fitPose(makePose(size, spec.angle, spec.scaleFrac, spec.dx, spec.dy), p, size, 1);
  const { ctx } = surface(size);
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = 1;
  ctx.globalCompositeOperation = 'source-over';
  drawBackground(ctx, spec, size);
  const [a, b, c, d, e, f] = pose.matrix;
  ctx.setTransform(a, b, c, d, e + 0.5, f + 0.5);
  drawHead(ctx, spec, geo.points, geo.mouthGap);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  drawLighting(ctx, spec, size);
  ctx.restore();

  const rgba = ctx.getImageData(0, 0, size, size).data;
  const rgb = new Uint8Array(size * size * 3);
  const k = spec.contrast;
  const off = 128 * (1 - k) + spec.brightness;
  // Sum of three uniform bytes from one xorshift draw: near-Gaussian sensor noise at a
  // fraction of the cost of Box-Muller per channel.
  const scale = (spec.noiseStd * 2) / 255;
  let x = spec.noiseSeed | 1;
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    for (let ch = 0; ch < 3; ch++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const n = ((x & 255) + ((x >>> 8) & 255) + ((x >>> 16) & 255) - 382.5) * scale;
      const v = rgba[i + ch] * k + off + n;
      rgb[j + ch] = v < 0 ? 0 : v > 255 ? 255 : v + 0.5;
    }
  }
  const landmarks = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    const [x, y] = applyPose(pose, p[2 * i], p[2 * i + 1]);
    landmarks[2 * i] = x;
    landmarks[2 * i + 1] = y;
  }
  return { width: size, height: size, rgb, landmarks, label: spec.label };
}

function drawBackground(ctx: SKRSContext2D, spec: FaceSpec, size: number): void {
  const ang = spec.backgroundAngle;
  const g = ctx.createLinearGradient(
    size / 2 - (Math.cos(ang) * size) / 2, size / 2 - (Math.sin(ang) * size) / 2,
    size / 2 + (Math.cos(ang) * size) / 2, size / 2 + (Math.sin(ang) * size) / 2,
  );
  g.addColorStop(0, css(spec.background[0]));
  g.addColorStop(1, css(spec.background[1]));
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, size, size);
  for (const s of spec.clutter) {
    ctx.save();
    ctx.translate(s.x * size, s.y * size);
    ctx.rotate(s.rot);
    ctx.fillStyle = css(s.color, s.alpha);
    ctx.strokeStyle = css(s.color, s.alpha);
    ctx.beginPath();
    const w = s.w * size;
    const h = s.h * size;
    if (s.kind === 0) ctx.fillRect(0, 0, w, h);
    else if (s.kind === 1) {
      ctx.ellipse(0, 0, w / 2, h / 2, 0, 0, 2 * Math.PI);
      ctx.fill();
    } else if (s.kind === 2) {
      ctx.lineWidth = Math.max(1, h * 0.15);
      ctx.moveTo(0, 0);
      ctx.lineTo(w * 1.5, 0);
      ctx.stroke();
    } else {
      ctx.moveTo(0, 0);
      ctx.lineTo(w, h * 0.2);
      ctx.lineTo(w * 0.3, h);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }
}

function drawLighting(ctx: SKRSContext2D, spec: FaceSpec, size: number): void {
  if (spec.lightStrength < 0.01) return;
  const ang = spec.lightAngle;
  const cx = size / 2;
  const g = ctx.createLinearGradient(cx - (Math.cos(ang) * size) / 2, cx - (Math.sin(ang) * size) / 2, cx + (Math.cos(ang) * size) / 2, cx + (Math.sin(ang) * size) / 2);
  g.addColorStop(0, `rgba(255,250,240,${spec.lightStrength.toFixed(3)})`);
  g.addColorStop(0.5, 'rgba(128,128,128,0)');
  g.addColorStop(1, `rgba(0,0,10,${spec.lightStrength.toFixed(3)})`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, size, size);
}

/** What every part of the head is drawn with: the canvas, the face's spec and its 68 points (face frame). */
interface Head {
  ctx: SKRSContext2D;
  p: Float64Array;
  id: Identity;
  ap: Appearance;
  L: Actions;
  R: Actions;
  skin: RGB;
  skinDark: RGB;
  /** An action's strength, both sides averaged. */
  avg(k: keyof Actions): number;
  /** Sets the stroke width and colour. */
  line(w: number, color: string): void;
}

/** The jaw line's ends and the face's mid line: where hair and forehead are drawn from. */
interface Jaw {
  j1: Pt;
  j17: Pt;
  midX: number;
}

/** The head back to front; each step paints over the ones before, so the order is the picture. */
function drawHead(ctx: SKRSContext2D, spec: FaceSpec, p: Float64Array, mouthGap: number): void {
  const L = spec.left;
  const R = spec.right;
  const skin = spec.appearance.skin;
  const h: Head = {
    ctx, p, id: spec.identity, ap: spec.appearance, L, R, skin,
    skinDark: shade(skin, 0.72),
    avg: (k) => (L[k] + R[k]) / 2,
    line: (w, color) => {
      ctx.lineWidth = w;
      ctx.strokeStyle = color;
    },
  };
  drawShoulders(h);
  drawBackHair(h);
  drawEars(h);
  const jaw = drawFace(h);
  const { browTop, fringeY } = drawFrontHair(h, jaw);
  drawForeheadLines(h, browTop, fringeY);
  drawBrows(h);
  drawEyes(h);
  const { base, wrinkle } = drawNose(h);
  drawFoldsAndCheeks(h, base, wrinkle);
  drawMouth(h, mouthGap);
  drawLipCorners(h);
}

/** Shoulders and neck, behind the head. */
function drawShoulders({ ctx, id, ap, skin }: Head): void {
  ctx.fillStyle = css(ap.shirt);
  ctx.beginPath();
  ctx.ellipse(0.5, 1.62, 0.95, 0.42, 0, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = css(shade(skin, 0.8));
  ctx.fillRect(0.5 - id.jawHalfWidth * 0.55, 0.7, id.jawHalfWidth * 1.1, 0.75);
}

/** Hair behind the head. */
function drawBackHair({ ctx, id, ap }: Head): void {
  const hairTop = id.crownY - 0.06;
  ctx.fillStyle = css(ap.hair);
  if (ap.hairStyle === 2) {
    ctx.beginPath();
    ctx.ellipse(0.5, id.jawTopY - 0.05, id.jawHalfWidth + 0.1, id.jawTopY - hairTop + 0.05, 0, Math.PI, 2 * Math.PI);
    ctx.lineTo(0.5 + id.jawHalfWidth + 0.12, 1.0);
    ctx.quadraticCurveTo(0.5 + id.jawHalfWidth + 0.1, 1.2, 0.5 + id.jawHalfWidth - 0.05, 1.15);
    ctx.lineTo(0.5 - id.jawHalfWidth + 0.05, 1.15);
    ctx.quadraticCurveTo(0.5 - id.jawHalfWidth - 0.1, 1.2, 0.5 - id.jawHalfWidth - 0.12, 1.0);
    ctx.closePath();
    ctx.fill();
  } else if (ap.hairStyle !== 0) {
    ctx.beginPath();
    ctx.ellipse(0.5, id.jawTopY, id.jawHalfWidth + 0.04, id.jawTopY - hairTop, 0, Math.PI, 2 * Math.PI);
    ctx.closePath();
    ctx.fill();
  }
}

function drawEars({ ctx, id, ap, skin }: Head): void {
  if (!ap.hasEars) return;
  ctx.fillStyle = css(shade(skin, 0.88));
  for (const s of [-1, 1]) {
    ctx.beginPath();
    ctx.ellipse(0.5 + s * (id.jawHalfWidth + 0.015), id.eyeY + 0.12, 0.045, 0.1, s * 0.15, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** Face: jaw landmarks, then the forehead arc over the crown. */
function drawFace({ ctx, p, id, skin, line }: Head): Jaw {
  const jaw = pts(p, ...range(1, 17));
  const faceGrad = ctx.createRadialGradient(0.45, 0.45, 0.05, 0.5, 0.5, 0.75);
  faceGrad.addColorStop(0, css(shade(skin, 1.06)));
  faceGrad.addColorStop(0.7, css(skin));
  faceGrad.addColorStop(1, css(shade(skin, 0.82)));
  ctx.fillStyle = faceGrad;
  ctx.beginPath();
  spline(ctx, jaw, false);
  const j17 = jaw[16];
  const j1 = jaw[0];
  const midX = (j1[0] + j17[0]) / 2;
  const topHalfW = (j17[0] - j1[0]) / 2;
  ctx.bezierCurveTo(j17[0] + 0.02, j17[1] - 0.25, midX + topHalfW * 0.8, id.crownY, midX, id.crownY);
  ctx.bezierCurveTo(midX - topHalfW * 0.8, id.crownY, j1[0] - 0.02, j1[1] - 0.25, j1[0], j1[1]);
  ctx.closePath();
  ctx.fill();
  line(0.008, css(shade(skin, 0.6), 0.6));
  ctx.beginPath();
  spline(ctx, jaw, false);
  ctx.stroke();
  return { j1, j17, midX };
}

/** Front hair (fringe / part); kept above the raised brows so it never hides a brow cue. */
function drawFrontHair({ ctx, p, id, ap }: Head, { j1, j17, midX }: Jaw): { browTop: number; fringeY: number } {
  const browTop = Math.min(...pts(p, ...range(18, 27)).map((q) => q[1]));
  const fringeY = Math.min(browTop - 0.06, id.eyeY - id.browGap - 0.11);
  ctx.fillStyle = css(ap.hair);
  if (ap.hairStyle === 3) {
    ctx.beginPath();
    ctx.moveTo(j1[0] - 0.03, j1[1] - 0.05);
    ctx.bezierCurveTo(j1[0] - 0.02, id.crownY - 0.05, j17[0] + 0.02, id.crownY - 0.05, j17[0] + 0.03, j17[1] - 0.05);
    const n = 7;
    for (let i = n; i >= 0; i--) {
      const x = j1[0] + ((j17[0] - j1[0]) * i) / n;
      const wave = i % 2 === 0 ? 0 : -0.025;
      const edge = Math.abs(i / n - 0.5) * 2;
      ctx.lineTo(x, fringeY + wave - 0.01 + edge * (j1[1] - 0.08 - fringeY) * 0.6);
    }
    ctx.closePath();
    ctx.fill();
  } else if (ap.hairStyle === 1 || ap.hairStyle === 2 || ap.hairStyle === 4) {
    const lowL = ap.hairStyle === 4 ? fringeY - 0.02 : fringeY - 0.08;
    const lowR = ap.hairStyle === 4 ? fringeY - 0.16 : fringeY - 0.08;
    ctx.beginPath();
    ctx.moveTo(j1[0] - 0.03, j1[1]);
    ctx.bezierCurveTo(j1[0] - 0.03, id.crownY - 0.06, j17[0] + 0.03, id.crownY - 0.06, j17[0] + 0.03, j17[1]);
    ctx.lineTo(j17[0] - 0.02, j17[1] - 0.02);
    ctx.bezierCurveTo(j17[0] - 0.05, lowR, midX + 0.15, lowR - 0.02, midX + 0.05, lowR + (lowL - lowR) * 0.4);
    ctx.bezierCurveTo(midX - 0.1, lowL, j1[0] + 0.05, lowL, j1[0] + 0.02, j1[1] - 0.02);
    ctx.closePath();
    ctx.fill();
  }
  return { browTop, fringeY };
}

/** Forehead wrinkles from raised brows (fear and surprise across, sad only in the middle); frown lines between lowered brows (anger, disgust). */
function drawForeheadLines({ ctx, p, ap, skinDark, avg, line }: Head, browTop: number, fringeY: number): void {
  const raise = avg('browRaise');
  const inner = avg('innerBrowRaise');
  if (raise > 0.2 || inner > 0.3) {
    line(0.006, css(skinDark, Math.min(0.7, 0.25 + 0.4 * Math.max(raise, inner * 0.7))));
    const halfW = raise > inner * 0.8 ? 0.2 : 0.09;
    for (let i = 0; i < 3; i++) {
      const y = browTop - 0.04 - i * 0.03;
      if (y < fringeY + 0.01 && ap.hairStyle !== 0) break;
      ctx.beginPath();
      ctx.moveTo(0.5 - halfW, y + 0.01);
      ctx.quadraticCurveTo(0.5, y - (raise > inner * 0.8 ? 0.015 : -0.01), 0.5 + halfW, y + 0.01);
      ctx.stroke();
    }
  }
  const lower = avg('browLower');
  if (lower > 0.25) {
    line(0.007, css(skinDark, Math.min(0.8, 0.2 + 0.5 * lower)));
    const by = (pt(p, 22)[1] + pt(p, 23)[1]) / 2;
    for (const s of [-1, 1]) {
      ctx.beginPath();
      ctx.moveTo(0.5 + s * 0.018, by - 0.03);
      ctx.lineTo(0.5 + s * 0.012, by + 0.04);
      ctx.stroke();
    }
  }
}

/** Brows: tapered, thicker at the inner end. */
function drawBrows({ ctx, p, id, ap }: Head): void {
  ctx.fillStyle = css(ap.brow);
  for (const side of [range(18, 22), range(23, 27).reverse()]) {
    const q = pts(p, ...side);
    const top: Pt[] = [];
    const bot: Pt[] = [];
    q.forEach((v, i) => {
      const t = i / 4;
      const th = id.browThick * (0.45 + 0.55 * t);
      top.push([v[0], v[1] - th / 2]);
      bot.push([v[0], v[1] + th / 2]);
    });
    ctx.beginPath();
    spline(ctx, top, false);
    ctx.lineTo(bot[4][0], bot[4][1]);
    spline(ctx, bot.reverse(), false, false);
    ctx.closePath();
    ctx.fill();
  }
}

function drawEyes(h: Head): void {
  drawEye(h, range(37, 42), -1, h.L);
  drawEye(h, range(43, 48), 1, h.R);
}

/** One eye: lid crease (and the lower-lid bag cheek raise shows), white, iris, pupil, highlight, lash lines. */
function drawEye({ ctx, p, id, ap, skin, skinDark, line }: Head, ids: number[], sign: number, a: Actions): void {
  const q = pts(p, ...ids);
  const cx = q.reduce((s, v) => s + v[0], 0) / 6;
  const cy = (q[0][1] + q[3][1]) / 2;
  const upper = sign < 0 ? [q[0], q[1], q[2], q[3]] : [q[3], q[2], q[1], q[0]];
  line(0.006, css(skinDark, 0.55));
  ctx.beginPath();
  spline(ctx, upper.map((v) => [v[0], v[1] - 0.022 - 0.015 * a.upperLidRaise] as Pt), false);
  ctx.stroke();
  if (a.cheekRaise > 0.2) {
    line(0.006, css(skinDark, Math.min(0.7, 0.6 * a.cheekRaise)));
    const lowerPts = sign < 0 ? [q[0], q[5], q[4], q[3]] : [q[3], q[5], q[4], q[0]];
    ctx.beginPath();
    spline(ctx, lowerPts.map((v) => [v[0], v[1] + 0.02] as Pt), false);
    ctx.stroke();
  }
  ctx.save();
  ctx.beginPath();
  spline(ctx, q, true);
  ctx.fillStyle = 'rgb(238,232,226)';
  ctx.fill();
  ctx.clip();
  ctx.fillStyle = css(ap.iris);
  ctx.beginPath();
  const ix = cx + ap.gazeX * id.eyeHalfW * 0.5;
  const iy = cy + ap.gazeY * id.eyeOpen;
  ctx.arc(ix, iy, id.irisR, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = 'rgb(12,10,10)';
  ctx.beginPath();
  ctx.arc(ix, iy, id.irisR * 0.45, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.beginPath();
  ctx.arc(ix - id.irisR * 0.35, iy - id.irisR * 0.35, id.irisR * 0.2, 0, 2 * Math.PI);
  ctx.fill();
  ctx.restore();
  // Lash line on the upper lid, thin line on the lower.
  line(0.011, 'rgb(25,18,15)');
  ctx.beginPath();
  spline(ctx, upper, false);
  ctx.stroke();
  const lowerLid = sign < 0 ? [q[3], q[4], q[5], q[0]] : [q[0], q[5], q[4], q[3]];
  line(0.005, css(shade(skin, 0.5), 0.8));
  ctx.beginPath();
  spline(ctx, lowerLid, false);
  ctx.stroke();
}

/** Nose: bridge shading on one side, tip, wings, nostrils, and the creases across the bridge of disgust. */
function drawNose({ ctx, p, L, R, skin, skinDark, avg, line }: Head): { base: Pt[]; wrinkle: number } {
  const bridge = pts(p, 28, 29, 30, 31);
  line(0.009, css(skinDark, 0.35));
  ctx.beginPath();
  spline(ctx, bridge.map((v, i) => [v[0] - 0.03 - 0.01 * i, v[1]] as Pt), false);
  ctx.stroke();
  const base = pts(p, 32, 33, 34, 35, 36);
  line(0.008, css(shade(skin, 0.55), 0.75));
  ctx.beginPath();
  spline(ctx, base, false);
  ctx.stroke();
  for (const [wing, sign] of [[base[0], -1], [base[4], 1]] as [Pt, number][]) {
    ctx.beginPath();
    ctx.moveTo(wing[0] + sign * 0.005, wing[1] + 0.015);
    ctx.quadraticCurveTo(wing[0] + sign * 0.02, wing[1] - 0.03, wing[0] - sign * 0.02, wing[1] - 0.045);
    ctx.stroke();
  }
  ctx.fillStyle = css(shade(skin, 0.35), 0.85);
  for (const [n, s] of [[base[1], -1], [base[3], 1]] as [Pt, number][]) {
    ctx.beginPath();
    const flare = s < 0 ? L.nostrilFlare : R.nostrilFlare;
    ctx.ellipse(n[0] + s * 0.005, n[1] - 0.006, 0.018 + 0.008 * flare, 0.009 + 0.003 * flare, s * 0.3, 0, 2 * Math.PI);
    ctx.fill();
  }
  const wrinkle = avg('noseWrinkle');
  if (wrinkle > 0.15) {
    line(0.007, css(skinDark, Math.min(0.85, 0.3 + 0.5 * wrinkle)));
    const y0 = bridge[0][1] + 0.045;
    for (let i = 0; i < 3; i++) {
      const y = y0 + i * 0.028;
      ctx.beginPath();
      ctx.moveTo(0.5 - 0.045, y + 0.01);
      ctx.quadraticCurveTo(0.5, y - 0.012, 0.5 + 0.045, y + 0.01);
      ctx.stroke();
    }
  }
  return { base, wrinkle };
}

/** Nasolabial folds (deeper with smiling and with the disgust upper-lip raise) and the blush of raised cheeks. */
function drawFoldsAndCheeks({ ctx, p, id, skinDark, avg, line }: Head, base: Pt[], wrinkle: number): void {
  const fold = Math.max(avg('lipCornerUp'), 0.8 * avg('upperLipRaise'), 0.5 * wrinkle);
  if (fold > 0.15) {
    line(0.008, css(skinDark, Math.min(0.8, 0.15 + 0.55 * fold)));
    for (const [wing, corner, s] of [[base[0], pt(p, 49), -1], [base[4], pt(p, 55), 1]] as [Pt, Pt, number][]) {
      ctx.beginPath();
      ctx.moveTo(wing[0] + s * 0.02, wing[1] - 0.01);
      ctx.quadraticCurveTo(corner[0] + s * 0.06, (wing[1] + corner[1]) / 2, corner[0] + s * 0.03, corner[1] + 0.04);
      ctx.stroke();
    }
  }
  const cheek = avg('cheekRaise');
  if (cheek > 0.2) {
    ctx.fillStyle = `rgba(235,120,120,${(0.22 * cheek).toFixed(3)})`;
    for (const s of [-1, 1]) {
      ctx.beginPath();
      ctx.ellipse(0.5 + s * (id.eyeSep + 0.02), id.eyeY + 0.15 - 0.03 * cheek, 0.08, 0.05, 0, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

/** Mouth: outer lips, then cavity and teeth inside the inner contour (or the closed lips' line). */
function drawMouth({ ctx, p, ap, avg, line }: Head, mouthGap: number): void {
  const outer = pts(p, ...range(49, 60));
  ctx.fillStyle = css(ap.lip);
  ctx.beginPath();
  spline(ctx, outer, true);
  ctx.fill();
  const innerPts = pts(p, ...range(61, 68));
  if (mouthGap > 0.01) {
    ctx.save();
    ctx.beginPath();
    spline(ctx, [pt(p, 49), ...innerPts.slice(1, 4), pt(p, 55), ...innerPts.slice(5, 8)], true);
    ctx.fillStyle = 'rgb(60,16,22)';
    ctx.fill();
    ctx.clip();
    ctx.fillStyle = 'rgb(240,236,228)';
    const up = Math.min(pt(p, 62)[1], pt(p, 63)[1], pt(p, 64)[1]);
    // A wide-open jaw (surprise) shows mostly cavity; smiles and raised upper lips show teeth.
    const teeth = 0.012 + 0.03 * Math.max(avg('lipCornerUp'), avg('upperLipRaise'), avg('lipStretch'));
    ctx.fillRect(pt(p, 49)[0], up - 0.02, pt(p, 55)[0] - pt(p, 49)[0], 0.02 + teeth);
    if (mouthGap > 0.06 && avg('lipCornerUp') > 0.5) {
      const dn = pt(p, 67)[1];
      ctx.fillRect(pt(p, 49)[0], dn - 0.018, pt(p, 55)[0] - pt(p, 49)[0], 0.03);
    }
    ctx.restore();
  } else {
    line(0.009, css(shade(ap.lip, 0.45)));
    ctx.beginPath();
    spline(ctx, [pt(p, 49), ...innerPts.slice(0, 5), pt(p, 55)], false);
    ctx.stroke();
  }
}

/** Lip corners: small dimples read as the corner direction at low resolution. */
function drawLipCorners({ ctx, p, L, R, skinDark, line }: Head): void {
  line(0.006, css(skinDark, 0.6));
  for (const [n, s] of [[49, -1], [55, 1]] as [number, number][]) {
    const c0 = pt(p, n);
    const a = s < 0 ? L : R;
    const dy = -0.02 * a.lipCornerUp + 0.02 * a.lipCornerDown;
    ctx.beginPath();
    ctx.moveTo(c0[0] + s * 0.004, c0[1]);
    ctx.lineTo(c0[0] + s * 0.02, c0[1] + dy);
    ctx.stroke();
  }
}
