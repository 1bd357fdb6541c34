/**
 * Face model of the synthetic dataset: identity + facial-action parameters -> the 68 iBUG
 * landmarks in a canonical face frame. The renderer draws every facial feature *from these
 * points*, so the landmarks are exact by construction rather than annotated after the fact.
 *
 * Canonical frame: a unit box, x right (image left = the subject's right, dlib order),
 * y down; brows near y = 0.2, eyes 0.33, nose base 0.63, mouth 0.75, chin about 1.05.
 */
import { Rng } from '../../util/rng.js';
import { CLASSES } from '../types.js';

/** Facial actions, loosely the FACS action units the expressions are built from. */
export interface Actions {
  /** AU1+2: whole brow up, more arched (surprise, fear). */
  browRaise: number;
  /** AU1: inner brow ends up, oblique brows (sad, fear). */
  innerBrowRaise: number;
  /** AU4: brows down and drawn together (anger, some disgust and fear). */
  browLower: number;
  /** AU5: eyes wide open (surprise, fear). */
  upperLidRaise: number;
  /** AU7: narrowed, tense eyes (anger). */
  lidTighten: number;
  /** Sad, heavy upper lid. */
  upperLidDroop: number;
  /** AU6: cheeks up, lower lid pushed up (happy, disgust). */
  cheekRaise: number;
  /** AU9: nose wrinkle, nostrils pulled up (disgust). */
  noseWrinkle: number;
  /** AU38: flared nostrils (anger). */
  nostrilFlare: number;
  /** AU10: upper lip raised (disgust). */
  upperLipRaise: number;
  /** AU12: lip corners up (happy). */
  lipCornerUp: number;
  /** AU15: lip corners down (sad, disgust). */
  lipCornerDown: number;
  /** AU20: lips stretched sideways (fear). */
  lipStretch: number;
  /** AU23/24: lips pressed thin (anger). */
  lipPress: number;
  /** AU25-27: lips parted, jaw dropped (surprise > fear > happy). */
  mouthOpen: number;
}

export const ACTION_NAMES: readonly (keyof Actions)[] = [
  'browRaise', 'innerBrowRaise', 'browLower', 'upperLidRaise', 'lidTighten', 'upperLidDroop',
  'cheekRaise', 'noseWrinkle', 'nostrilFlare', 'upperLipRaise', 'lipCornerUp', 'lipCornerDown',
  'lipStretch', 'lipPress', 'mouthOpen',
];

/**
 * Expression prototypes at full intensity. Every non-neutral class carries cues in at least
 * two of brows / eyes / nose / mouth, so one occluded region lowers the evidence without
 * erasing it, and pairs share cues on purpose: fear and surprise share raised brows and wide
 * eyes (they differ in the inner-brow raise, the stretched vs dropped mouth), anger and
 * disgust share lowered brows (nose wrinkle and raised upper lip vs pressed lips), and
 * sad at low intensity sits close to neutral.
 */
export const EXPRESSIONS: Readonly<Record<(typeof CLASSES)[number], Partial<Actions>>> = {
  neutral: {},
  anger: { browLower: 1.0, lidTighten: 0.9, nostrilFlare: 0.8, lipPress: 1.0, lipCornerDown: 0.2 },
  disgust: { noseWrinkle: 1.0, upperLipRaise: 1.0, browLower: 0.55, cheekRaise: 0.5, lipCornerDown: 0.45 },
  fear: { browRaise: 0.7, innerBrowRaise: 0.8, browLower: 0.25, upperLidRaise: 1.0, lipStretch: 1.0, mouthOpen: 0.35 },
  happy: { lipCornerUp: 1.0, cheekRaise: 0.9, mouthOpen: 0.35, lipStretch: 0.15 },
  sad: { innerBrowRaise: 1.0, upperLidDroop: 0.8, lipCornerDown: 1.0, lipPress: 0.25 },
  surprise: { browRaise: 1.0, upperLidRaise: 0.9, mouthOpen: 1.0 },
};

/** What makes one synthetic person look unlike another. */
export interface Identity {
  jawHalfWidth: number;
  jawTopY: number;
  chinY: number;
  /** < 1 gives a squarer jaw. */
  jawPower: number;
  eyeY: number;
  eyeSep: number;
  eyeHalfW: number;
  eyeOpen: number;
  lowerOpen: number;
  browGap: number;
  browArch: number;
  browThick: number;
  noseBaseY: number;
  noseHalfW: number;
  mouthY: number;
  mouthHalfW: number;
  upperLipH: number;
  lowerLipH: number;
  irisR: number;
  /** Head top, for the forehead arc. */
  crownY: number;
}

export function sampleIdentity(rng: Rng): Identity {
  const eyeY = rng.uniform(0.31, 0.35);
  const eyeHalfW = rng.uniform(0.066, 0.08);
  return {
    jawHalfWidth: rng.uniform(0.42, 0.48),
    jawTopY: rng.uniform(0.31, 0.36),
    chinY: rng.uniform(1.0, 1.07),
    jawPower: rng.uniform(0.62, 0.95),
    eyeY,
    eyeSep: rng.uniform(0.16, 0.185),
    eyeHalfW,
    eyeOpen: rng.uniform(0.03, 0.04),
    lowerOpen: rng.uniform(0.018, 0.025),
    browGap: rng.uniform(0.085, 0.11),
    browArch: rng.uniform(0.015, 0.035),
    browThick: rng.uniform(0.024, 0.04),
    noseBaseY: rng.uniform(0.61, 0.65),
    noseHalfW: rng.uniform(0.07, 0.095),
    mouthY: rng.uniform(0.74, 0.79),
    mouthHalfW: rng.uniform(0.14, 0.175),
    upperLipH: rng.uniform(0.02, 0.032),
    lowerLipH: rng.uniform(0.028, 0.042),
    irisR: eyeHalfW * rng.uniform(0.42, 0.5),
    crownY: rng.uniform(-0.32, -0.22),
  };
}

export function zeroActions(): Actions {
  const a = {} as Actions;
  for (const k of ACTION_NAMES) a[k] = 0;
  return a;
}

/**
 * Per-sample action values: the class prototype at a random intensity, each action jittered,
 * sometimes dropped, plus a little background activity in every action so that low-intensity
 * expressions and neutral faces overlap.
 */
export function sampleActions(label: number, rng: Rng, intensity: readonly [number, number]): { actions: Actions; intensity: number } {
  const proto = EXPRESSIONS[CLASSES[label]];
  const level = label === 0 ? 0 : rng.uniform(intensity[0], intensity[1]);
  const actions = zeroActions();
  const keys = Object.keys(proto) as (keyof Actions)[];
  // Never drop the cue that carries most of the class, or a face could lose every cue.
  const strongest = keys.reduce<keyof Actions | undefined>((best, k) => (best === undefined || (proto[k] ?? 0) > (proto[best] ?? 0) ? k : best), undefined);
  for (const k of ACTION_NAMES) {
    const base = proto[k] ?? 0;
    let v = base * level * rng.uniform(0.7, 1.25);
    if (base > 0 && k !== strongest && rng.next() < 0.12) v = 0;
    v += Math.abs(rng.normal(0, 0.06));
    actions[k] = Math.min(1.3, v);
  }
  return { actions, intensity: level };
}

/** Geometry derived alongside the landmarks that the renderer needs (e.g. the inner-lip gap). */
export interface FaceGeometry {
  /** 68 points, canonical frame, x0,y0,x1,y1,... */
  points: Float64Array;
  /** Inner-lip opening at the mouth centre, canonical units. */
  mouthGap: number;
  browY: number;
}

function jawPoint(id: Identity, k: number, drop: number): [number, number] {
  const theta = (Math.PI * k) / 16;
  const s = Math.sin(theta);
  const x = 0.5 - id.jawHalfWidth * Math.cos(theta) * (1 - 0.08 * s * s);
  const y = id.jawTopY + (id.chinY - id.jawTopY) * Math.pow(s, id.jawPower) + drop * s * s;
  return [x, y];
}

/**
 * The 68 points for an identity and per-side actions (`left`/`right` are image sides, so the
 * left arrays feed points 18-22, 37-42 and the like). Both sides get their own action values
 * because real expressions are a little asymmetric.
 */
export function faceLandmarks(id: Identity, left: Actions, right: Actions): FaceGeometry {
  const p = new Float64Array(136);
  const set = (n: number, x: number, y: number): void => {
    p[2 * (n - 1)] = x;
    p[2 * (n - 1) + 1] = y;
  };
  const avg = (k: keyof Actions): number => (left[k] + right[k]) / 2;

  // Mouth first: the jaw drop depends on how far the lower lip moves.
  const open = avg('mouthOpen');
  const stretch = avg('lipStretch');
  const press = avg('lipPress');
  const gap = 0.16 * open + 0.012 * avg('lipCornerUp') + 0.018 * avg('upperLipRaise') - 0.004 * press;
  const gapUp = Math.max(0, 0.2 * gap + 0.014 * avg('upperLipRaise'));
  const gapDown = Math.max(0, gap - gapUp);
  const baseHalfW = id.mouthHalfW * (1 - 0.25 * open * Math.max(0, 1 - 2 * stretch)) * (1 - 0.12 * press);
  const lipThin = 1 - 0.45 * press - 0.25 * stretch;
  const mouthSide = (a: Actions): { halfW: number; cornerDy: number } => ({
    halfW: baseHalfW * (1 + 0.14 * a.lipCornerUp + 0.22 * a.lipStretch),
    cornerDy: -0.045 * a.lipCornerUp + 0.04 * a.lipCornerDown + 0.006 * a.lipStretch,
  });
  const ml = mouthSide(left);
  const mr = mouthSide(right);
  const my = id.mouthY - 0.004 * avg('upperLipRaise');
  const mx = (s: number): number => 0.5 + s * (s < 0 ? ml.halfW : mr.halfW);
  const mid = (s: number): number => my + (s < 0 ? ml.cornerDy : mr.cornerDy) * s * s;
  const gapShape = (s: number): number => Math.pow(Math.max(0, 1 - s * s), 0.7);
  const innerUp = (s: number): number => mid(s) - gapUp * gapShape(s);
  const innerDown = (s: number): number => mid(s) + gapDown * gapShape(s);
  const ulh = id.upperLipH * lipThin;
  const llh = id.lowerLipH * lipThin;
  // Cupid's bow: the two peaks either side of the philtrum sit a little higher than the centre.
  const outerUp = (s: number): number =>
    innerUp(s) - ulh * (1 - 0.55 * s * s) - 0.008 * Math.exp(-(((Math.abs(s) - 0.28) / 0.14) ** 2)) * lipThin;
  const outerDown = (s: number): number => innerDown(s) + llh * (1 - 0.65 * s * s);

  // Jaw 1-17.
  for (let k = 0; k <= 16; k++) {
    const [x, y] = jawPoint(id, k, 0.75 * gapDown);
    set(k + 1, x, y);
  }

  // Brows 18-22 (image left, outer -> inner) and 23-27 (inner -> outer).
  const brow = (a: Actions, sign: number, t: number): [number, number] => {
    // t = 0 outer end, 1 inner end.
    const outerX = 0.5 + sign * (id.eyeSep + id.eyeHalfW * 1.35);
    const innerX = 0.5 + sign * 0.045;
    const arch = Math.sin(Math.PI * (0.1 + 0.85 * (1 - t))) * id.browArch * (1 + 0.8 * a.browRaise - 0.4 * a.innerBrowRaise);
    let y = id.eyeY - id.browGap - arch + 0.01 * t;
    y -= a.browRaise * (0.05 + 0.015 * Math.sin(Math.PI * t));
    y -= a.innerBrowRaise * 0.055 * Math.pow(t, 1.6);
    y += a.browLower * (0.022 + 0.03 * t);
    const x = outerX + (innerX - outerX) * t - sign * a.browLower * 0.022 * t;
    return [x, y];
  };
  for (let i = 0; i < 5; i++) {
    const [x, y] = brow(left, -1, i / 4);
    set(18 + i, x, y);
    const [xr, yr] = brow(right, 1, 1 - i / 4);
    set(23 + i, xr, yr);
  }

  // Nose 28-36.
  const wrinkle = avg('noseWrinkle');
  const lift = 0.022 * wrinkle + 0.008 * avg('upperLipRaise');
  const topY = id.eyeY - 0.01;
  const tipY = id.noseBaseY - 0.075 - 0.012 * wrinkle;
  for (let i = 0; i < 4; i++) set(28 + i, 0.5 + 0.002 * i, topY + ((tipY - topY) * i) / 3);
  const flareL = 0.02 * left.nostrilFlare + 0.012 * left.noseWrinkle;
  const flareR = 0.02 * right.nostrilFlare + 0.012 * right.noseWrinkle;
  const nb = id.noseBaseY - lift;
  set(32, 0.5 - id.noseHalfW - flareL, nb - 0.028 - 0.006 * left.noseWrinkle);
  set(33, 0.5 - id.noseHalfW * 0.5 - flareL * 0.5, nb - 0.01);
  set(34, 0.5, nb);
  set(35, 0.5 + id.noseHalfW * 0.5 + flareR * 0.5, nb - 0.01);
  set(36, 0.5 + id.noseHalfW + flareR, nb - 0.028 - 0.006 * right.noseWrinkle);

  // Eyes 37-42 (image left: outer corner, two upper, inner corner, two lower) and 43-48.
  const eye = (a: Actions, sign: number, first: number): void => {
    const cx = 0.5 + sign * id.eyeSep;
    const cy = id.eyeY;
    const hw = id.eyeHalfW;
    const upF = Math.max(0.18, 1 + 0.75 * a.upperLidRaise - 0.42 * a.lidTighten - 0.4 * a.upperLidDroop - 0.22 * a.cheekRaise - 0.15 * a.browLower);
    const loF = Math.max(0.15, 1 + 0.35 * a.upperLidRaise - 0.65 * a.cheekRaise - 0.45 * a.lidTighten);
    const up = id.eyeOpen * upF;
    const lo = id.lowerOpen * loF;
    // Sad lids droop more at the outer side; an outer corner slightly lower than the inner one is typical.
    const droopOuter = 0.35 * a.upperLidDroop * id.eyeOpen;
    const outer = cx + sign * hw;
    const inner = cx - sign * hw;
    const pts: [number, number][] = [
      [outer, cy + 0.004],
      [cx + sign * hw * 0.35, cy - up + droopOuter],
      [cx - sign * hw * 0.35, cy - up * 0.95],
      [inner, cy],
      [cx - sign * hw * 0.35, cy + lo],
      [cx + sign * hw * 0.35, cy + lo * 1.05],
    ];
    if (sign > 0) {
      // dlib's right eye starts at the inner corner: 43 inner, 44-45 upper, 46 outer, 47-48 lower.
      const order = [3, 2, 1, 0, 5, 4];
      for (let i = 0; i < 6; i++) set(first + i, pts[order[i]][0], pts[order[i]][1]);
    } else {
      for (let i = 0; i < 6; i++) set(first + i, pts[i][0], pts[i][1]);
    }
  };
  eye(left, -1, 37);
  eye(right, 1, 43);

  // Mouth 49-68.
  set(49, mx(-1), mid(-1));
  const upperS = [-0.6, -0.26, 0, 0.26, 0.6];
  upperS.forEach((s, i) => set(50 + i, mx(s), outerUp(s)));
  set(55, mx(1), mid(1));
  const lowerS = [0.6, 0.26, 0, -0.26, -0.6];
  lowerS.forEach((s, i) => set(56 + i, mx(s), outerDown(s)));
  set(61, mx(-0.86), mid(-0.86));
  [-0.4, 0, 0.4].forEach((s, i) => set(62 + i, mx(s), innerUp(s)));
  set(65, mx(0.86), mid(0.86));
  [0.4, 0, -0.4].forEach((s, i) => set(66 + i, mx(s), innerDown(s)));

  const browY = Math.min(p[2 * 19 + 1], p[2 * 24 + 1]);
  return { points: p, mouthGap: gap, browY };
}

/** One rigid similarity from the face frame to image pixels (canvas coordinates). */
export interface Pose {
  /** Canvas transform [a, b, c, d, e, f] mapping face frame -> canvas pixels. */
  matrix: [number, number, number, number, number, number];
  angle: number;
  scale: number;
}

export function makePose(size: number, angle: number, scaleFrac: number, dx: number, dy: number): Pose {
  const s = size * scaleFrac;
  const c = Math.cos(angle) * s;
  const sn = Math.sin(angle) * s;
  // Face-frame anchor (0.5, 0.62) goes to the image centre plus the offset.
  const ax = 0.5;
  const ay = 0.62;
  const e = size * (0.5 + dx) - (c * ax - sn * ay);
  const f = size * (0.5 + dy) - (sn * ax + c * ay);
  return { matrix: [c, sn, -sn, c, e, f], angle, scale: s };
}

export function applyPose(pose: Pose, x: number, y: number): [number, number] {
  const [a, b, c, d, e, f] = pose.matrix;
  return [a * x + c * y + e, b * x + d * y + f];
}

/** Shifts (and if need be shrinks) the pose so every landmark lies inside [margin, size-1-margin]. */
export function fitPose(pose: Pose, points: Float64Array, size: number, margin: number): Pose {
  let current = pose;
  for (let attempt = 0; attempt < 6; attempt++) {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < 68; i++) {
      const [x, y] = applyPose(current, points[2 * i], points[2 * i + 1]);
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
    const lo = margin;
    const hi = size - 1 - margin;
    if (maxX - minX > hi - lo || maxY - minY > hi - lo) {
      const k = (0.97 * (hi - lo)) / Math.max(maxX - minX, maxY - minY);
      const [a, b, c, d, e, f] = current.matrix;
      // Shrink about the image centre.
      const cx = size / 2;
      const cy = size / 2;
      current = { angle: current.angle, scale: current.scale * k, matrix: [a * k, b * k, c * k, d * k, cx + (e - cx) * k, cy + (f - cy) * k] };
      continue;
    }
    let sx = 0;
    let sy = 0;
    if (minX < lo) sx = lo - minX;
    else if (maxX > hi) sx = hi - maxX;
    if (minY < lo) sy = lo - minY;
    else if (maxY > hi) sy = hi - maxY;
    if (sx === 0 && sy === 0) return current;
    const m = current.matrix;
    current = { ...current, matrix: [m[0], m[1], m[2], m[3], m[4] + sx, m[5] + sy] };
  }
  return current;
}
