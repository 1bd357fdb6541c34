/**
 * Procedural occluders, drawn with @napi-rs/canvas into an S x S box on a transparent layer:
 * the stand-ins for the paper's ~4k cut-out object images when the user gives no folder.
 * Each fills a good part of its box, as the paper's square occluders do.
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import type { Rng } from '../../util/rng.js';

export const PROCEDURAL_KINDS = ['hand', 'sunglasses', 'medical-mask', 'cup', 'hair', 'shape', 'patch', 'book'] as const;
export type ProceduralKind = (typeof PROCEDURAL_KINDS)[number];

type Draw = (ctx: SKRSContext2D, s: number, rng: Rng) => void;

function rgb(rng: Rng, lo = 0, hi = 255): string {
  return `rgb(${rng.int(lo, hi)},${rng.int(lo, hi)},${rng.int(lo, hi)})`;
}
function skin(rng: Rng): string {
  const t = rng.next();
  return `rgb(${Math.round(95 + 150 * t)},${Math.round(60 + 140 * t)},${Math.round(42 + 140 * t)})`;
}

/** A fill that is a texture, not a flat colour: stripes, checks, dots or a gradient. */
function texture(ctx: SKRSContext2D, s: number, rng: Rng): string | ReturnType<SKRSContext2D['createLinearGradient']> {
  const kind = rng.int(0, 4);
  const a = rgb(rng);
  const b = rgb(rng);
  if (kind === 0) return a;
  if (kind === 1) {
    const g = ctx.createLinearGradient(0, 0, s, s * rng.uniform(-1, 1));
    g.addColorStop(0, a);
    g.addColorStop(1, b);
    return g;
  }
  const g = ctx.createLinearGradient(0, 0, s * rng.uniform(0.2, 1), s * rng.uniform(0.2, 1));
  // Many hard colour stops make stripes through a gradient, which keeps everything one fill.
  const n = kind === 2 ? rng.int(4, 12) : rng.int(10, 24);
  for (let i = 0; i < n; i++) {
    g.addColorStop(i / n, i % 2 ? a : b);
    g.addColorStop(Math.min(1, (i + 0.999) / n), i % 2 ? a : b);
  }
  return g;
}

const hand: Draw = (ctx, s, rng) => {
  ctx.fillStyle = skin(rng);
  ctx.strokeStyle = 'rgba(60,30,20,0.5)';
  ctx.lineWidth = Math.max(1, s * 0.012);
  const palmX = s * 0.5;
  const palmY = s * 0.68;
  ctx.beginPath();
  ctx.ellipse(palmX, palmY, s * 0.28, s * 0.3, 0, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  const fingers = rng.int(3, 4);
  for (let i = 0; i < fingers; i++) {
    const x = palmX + (i - (fingers - 1) / 2) * s * 0.14;
    const len = s * rng.uniform(0.32, 0.45);
    ctx.beginPath();
    ctx.roundRect(x - s * 0.06, palmY - s * 0.22 - len, s * 0.12, len + s * 0.1, s * 0.06);
    ctx.fill();
    ctx.stroke();
  }
  ctx.save();
  ctx.translate(palmX - s * 0.25, palmY);
  ctx.rotate(-rng.uniform(0.6, 1.1));
  ctx.beginPath();
  ctx.roundRect(-s * 0.06, -s * 0.3, s * 0.12, s * 0.32, s * 0.06);
  ctx.fill();
  ctx.stroke();
  ctx.restore();
};

const sunglasses: Draw = (ctx, s, rng) => {
  const frame = rgb(rng, 0, 120);
  ctx.fillStyle = frame;
  ctx.fillRect(s * 0.05, s * 0.3, s * 0.9, s * 0.07);
  const lens = rng.next() < 0.7 ? `rgba(10,10,20,0.95)` : rgb(rng, 40, 200);
  for (const cx of [0.27, 0.73]) {
    ctx.beginPath();
    ctx.ellipse(cx * s, s * 0.48, s * 0.22, s * 0.19, 0, 0, 2 * Math.PI);
    ctx.fillStyle = frame;
    ctx.fill();
    ctx.beginPath();
    ctx.ellipse(cx * s, s * 0.48, s * 0.19, s * 0.16, 0, 0, 2 * Math.PI);
    ctx.fillStyle = lens;
    ctx.fill();
    ctx.fillStyle = 'rgba(255,255,255,0.35)';
    ctx.beginPath();
    ctx.ellipse(cx * s - s * 0.07, s * 0.42, s * 0.05, s * 0.025, -0.5, 0, 2 * Math.PI);
    ctx.fill();
  }
};

const medicalMask: Draw = (ctx, s, rng) => {
  const colours = ['rgb(170,205,230)', 'rgb(235,238,240)', 'rgb(40,40,45)', 'rgb(120,170,150)', rgb(rng, 60, 240)];
  ctx.fillStyle = rng.pick(colours);
  ctx.beginPath();
  ctx.moveTo(s * 0.08, s * 0.2);
  ctx.quadraticCurveTo(s * 0.5, s * 0.08, s * 0.92, s * 0.2);
  ctx.lineTo(s * 0.95, s * 0.72);
  ctx.quadraticCurveTo(s * 0.5, s * 1.02, s * 0.05, s * 0.72);
  ctx.closePath();
  ctx.fill();
  ctx.strokeStyle = 'rgba(0,0,0,0.25)';
  ctx.lineWidth = Math.max(1, s * 0.015);
  for (let i = 0; i < 3; i++) {
    const y = s * (0.35 + i * 0.14);
    ctx.beginPath();
    ctx.moveTo(s * 0.1, y);
    ctx.quadraticCurveTo(s * 0.5, y + s * 0.04, s * 0.9, y);
    ctx.stroke();
  }
  ctx.strokeStyle = 'rgba(240,240,240,0.9)';
  ctx.lineWidth = Math.max(1, s * 0.02);
  ctx.beginPath();
  ctx.moveTo(s * 0.05, s * 0.25);
  ctx.lineTo(s * 0.0 + 1, s * 0.05);
  ctx.moveTo(s * 0.95, s * 0.25);
  ctx.lineTo(s - 1, s * 0.05);
  ctx.stroke();
};

const cup: Draw = (ctx, s, rng) => {
  ctx.fillStyle = texture(ctx, s, rng);
  ctx.beginPath();
  ctx.moveTo(s * 0.12, s * 0.12);
  ctx.lineTo(s * 0.72, s * 0.12);
  ctx.lineTo(s * 0.66, s * 0.95);
  ctx.lineTo(s * 0.18, s * 0.95);
  ctx.closePath();
  ctx.fill();
  ctx.strokeStyle = rgb(rng);
  ctx.lineWidth = s * 0.08;
  ctx.beginPath();
  ctx.ellipse(s * 0.76, s * 0.48, s * 0.14, s * 0.18, 0, -Math.PI / 2, Math.PI / 2);
  ctx.stroke();
  ctx.fillStyle = 'rgba(40,20,10,0.9)';
  ctx.beginPath();
  ctx.ellipse(s * 0.42, s * 0.12, s * 0.3, s * 0.05, 0, 0, 2 * Math.PI);
  ctx.fill();
};

const hair: Draw = (ctx, s, rng) => {
  const base = rng.pick([[30, 22, 16], [70, 45, 25], [120, 80, 40], [200, 165, 105], [140, 60, 30], [170, 170, 165]]);
  const strands = rng.int(30, 60);
  ctx.lineCap = 'round';
  for (let i = 0; i < strands; i++) {
    const k = rng.uniform(0.75, 1.2);
    ctx.strokeStyle = `rgb(${Math.round(base[0] * k)},${Math.round(base[1] * k)},${Math.round(base[2] * k)})`;
    ctx.lineWidth = Math.max(1, s * rng.uniform(0.02, 0.06));
    const x0 = s * rng.uniform(0.05, 0.95);
    ctx.beginPath();
    ctx.moveTo(x0, s * 0.02);
    ctx.bezierCurveTo(x0 + s * rng.uniform(-0.3, 0.3), s * 0.35, x0 + s * rng.uniform(-0.3, 0.3), s * 0.65, x0 + s * rng.uniform(-0.2, 0.2), s * rng.uniform(0.7, 0.98));
    ctx.stroke();
  }
};

const shape: Draw = (ctx, s, rng) => {
  ctx.fillStyle = texture(ctx, s, rng);
  ctx.beginPath();
  const kind = rng.int(0, 2);
  if (kind === 0) {
    ctx.ellipse(s / 2, s / 2, s * rng.uniform(0.35, 0.5), s * rng.uniform(0.35, 0.5), rng.uniform(0, Math.PI), 0, 2 * Math.PI);
  } else {
    const n = kind === 1 ? rng.int(5, 9) : rng.int(5, 7) * 2;
    for (let i = 0; i < n; i++) {
      const a = (2 * Math.PI * i) / n;
      const r = s * (kind === 2 && i % 2 ? rng.uniform(0.22, 0.3) : rng.uniform(0.4, 0.5));
      ctx.lineTo(s / 2 + r * Math.cos(a), s / 2 + r * Math.sin(a));
    }
    ctx.closePath();
  }
  ctx.fill();
};

const patch: Draw = (ctx, s, rng) => {
  // The paper's occluders are square crops of object photos: a full square of texture.
  ctx.fillStyle = texture(ctx, s, rng);
  ctx.fillRect(0, 0, s, s);
  const marks = rng.int(2, 8);
  for (let i = 0; i < marks; i++) {
    ctx.fillStyle = rgb(rng);
    ctx.beginPath();
    ctx.arc(s * rng.next(), s * rng.next(), s * rng.uniform(0.04, 0.2), 0, 2 * Math.PI);
    ctx.fill();
  }
};

const book: Draw = (ctx, s, rng) => {
  ctx.save();
  ctx.translate(s / 2, s / 2);
  ctx.rotate(rng.uniform(-0.3, 0.3));
  ctx.fillStyle = rgb(rng, 30, 220);
  ctx.fillRect(-s * 0.4, -s * 0.45, s * 0.8, s * 0.9);
  ctx.fillStyle = 'rgba(0,0,0,0.3)';
  ctx.fillRect(-s * 0.4, -s * 0.45, s * 0.08, s * 0.9);
  ctx.fillStyle = rgb(rng, 180, 255);
  for (let i = 0; i < 4; i++) ctx.fillRect(-s * 0.22, -s * 0.3 + i * s * 0.1, s * rng.uniform(0.3, 0.5), s * 0.04);
  ctx.restore();
};

const DRAW: Record<ProceduralKind, Draw> = {
  hand, sunglasses, 'medical-mask': medicalMask, cup, hair, shape, patch, book,
};

/** Draws a random procedural occluder into the box [x, x+s) x [y, y+s) of `ctx`. */
export function drawProcedural(ctx: SKRSContext2D, x: number, y: number, s: number, rng: Rng, kind?: ProceduralKind): ProceduralKind {
  const k = kind ?? rng.pick(PROCEDURAL_KINDS);
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, s, s);
  ctx.clip();
  ctx.translate(x, y);
  // Random flips and quarter turns multiply the variety for free.
  const turn = rng.int(0, 3);
  const flip = rng.next() < 0.5;
  ctx.translate(s / 2, s / 2);
  if (k !== 'sunglasses' && k !== 'medical-mask') ctx.rotate((turn * Math.PI) / 2);
  if (flip) ctx.scale(-1, 1);
  ctx.translate(-s / 2, -s / 2);
  DRAW[k](ctx, s, rng);
  ctx.restore();
  return k;
}
