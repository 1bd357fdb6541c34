/**
 * ImageNet initialisation from a torchvision state dict: a PyTorch checkpoint (.pth, zip or
 * legacy format) or a .safetensors file (torchvision or timm names), read by state-dict.ts.
 * Only layers torchvision has are imported (trunk, global branch, VGG fc6/fc7); ACNN units,
 * heads and the class layer keep their seeded initialisation. The name mapping lives next to
 * the descriptions (arch.ts torchvisionSource).
 *
 * A layer loads whole or not at all: when one of its tensors is missing or has another shape
 * (width != 1, fc6 at an input size other than 224) the layer is skipped and named with the
 * reason. A checkpoint that fits no layer at all, or holds another backbone, is an error.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { torchvisionSource, type TorchSource } from './arch.js';
import type { SafeTensor } from './safetensors.js';
import { readStateDict, type StateDict } from './state-dict.js';
import type { AcnnModel, Backbone } from './types.js';

export interface SkippedLayer {
  layer: string;
  reason: string;
}

export interface PretrainedResult {
  /** Our layers (conv1_1, layer2.0.downsample, fc6, ...) whose every tensor was imported. */
  loaded: string[];
  /** Layers with a torchvision counterpart that did not fit, with the reason. */
  skipped: SkippedLayer[];
  /** Our layers with no torchvision counterpart (ACNN units, heads, class layer): kept as initialised. */
  fresh: string[];
}

/** Converts a torch tensor to our layout; `target` is our parameter shape (it tells fc6 its channel count). */
export function toTfLayout(t: SafeTensor, src: TorchSource, target: number[]): { shape: number[]; data: Float32Array } {
  const s = t.shape;
  switch (src.layout) {
    case 'vector':
      return { shape: s, data: t.data };
    case 'conv': {
      if (s.length !== 4) return { shape: s, data: t.data };
      const [O, I, H, W] = s;
      const out = new Float32Array(t.data.length);
      for (let o = 0; o < O; o++)
        for (let i = 0; i < I; i++)
          for (let h = 0; h < H; h++)
            for (let w = 0; w < W; w++) out[((h * W + w) * I + i) * O + o] = t.data[((o * I + i) * H + h) * W + w];
      return { shape: [H, W, I, O], data: out };
    }
    case 'fc':
    case 'fc-from-chw': {
      if (s.length !== 2) return { shape: s, data: t.data };
      const [O, I] = s;
      // torch flattens C,H,W; we flatten H,W,C. The channel count is the one our layer expects:
      // target [I, O] with I = h*w*c and h = w.
      let perm: ((i: number) => number) | null = null;
      if (src.layout === 'fc-from-chw' && target.length === 2 && target[0] === I) {
        const c = channelsBeforeFc(I);
        if (c) {
          const hw = I / c;
          perm = (i) => {
            const ch = i % c;
            const p = (i - ch) / c;
            return ch * hw + p;
          };
        }
      }
      const out = new Float32Array(t.data.length);
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) out[i * O + o] = t.data[o * I + (perm ? perm(i) : i)];
      return { shape: [I, O], data: out };
    }
  }
}

/** VGG's fc6 input is a 7x7 (224 input) map of 512 channels; other sizes have no ImageNet fc6. */
function channelsBeforeFc(I: number): number | null {
  return I % 49 === 0 ? I / 49 : null;
}

/** The torchvision checkpoint name of each backbone (for messages). */
export const TORCHVISION_NAME: Record<Backbone, string> = { vgg16: 'vgg16_bn', resnet18: 'resnet18' };

/** A tensor every checkpoint of that backbone has: tells which backbone a checkpoint holds. */
const SIGNATURE: Record<Backbone, string> = { vgg16: 'features.0.weight', resnet18: 'layer1.0.conv1.weight' };

/** The torchvision backbone whose tensors a state dict holds, if any. */
export function backboneOf(tensors: StateDict): Backbone | undefined {
  return (Object.keys(SIGNATURE) as Backbone[]).find((b) => tensors.has(SIGNATURE[b]));
}

export async function loadPretrained(model: AcnnModel, file: string): Promise<PretrainedResult> {
  return applyStateDict(model, await readStateDict(file), file);
}

function layerOf(param: string): string {
  return param.split('/')[0];
}

function why(layer: string, src: TorchSource, t: SafeTensor, conv: { shape: number[] }, target: number[], model: AcnnModel): string {
  const o = model.options;
  const hints: string[] = [];
  if (layer === 'fc6' && o.inputSize !== 224) hints.push(`ImageNet's fc6 takes the 7x7 map of a 224 input, model.inputSize is ${o.inputSize}`);
  if (o.width !== 1) hints.push(`model.width is ${o.width}, ImageNet weights fit width 1`);
  const hint = hints.map((h) => `; ${h}`).join('');
  return `tensor '${src.torch}' is [${t.shape}] ([${conv.shape}] in TF layout), the model needs [${target}]${hint}`;
}

/** Imports every layer that fits; throws when the state dict fits no layer or holds another backbone. */
export function applyStateDict(model: AcnnModel, tensors: StateDict, file: string): PretrainedResult {
  const backbone = model.options.backbone;
  const byLayer = new Map<string, [string, tf.Variable][]>();
  for (const [name, v] of model.namedVariables()) {
    const layer = layerOf(name);
    byLayer.set(layer, [...(byLayer.get(layer) ?? []), [name, v]]);
  }
  const mapped = [...model.namedVariables().keys()].map((n) => torchvisionSource(backbone, n)).filter((s): s is TorchSource => !!s);
  if (!mapped.some((s) => tensors.has(s.torch))) {
    const other = backboneOf(tensors);
    const what = other && other !== backbone ? `it holds ${TORCHVISION_NAME[other]} tensors` : `none of its tensors (e.g. '${mapped[0]?.torch}') are there`;
    throw new UserError(`pretrained weights ${file} are not a ${TORCHVISION_NAME[backbone]} checkpoint for model.backbone ${backbone}: ${what}`);
  }
  const result: PretrainedResult = { loaded: [], skipped: [], fresh: [] };
  const updates: [tf.Variable, Float32Array][] = [];
  for (const [layer, params] of byLayer) {
    const sources = params.map(([name, v]) => ({ name, v, src: torchvisionSource(backbone, name) }));
    if (sources.every((p) => !p.src)) {
      result.fresh.push(layer);
      continue;
    }
    const pending: [tf.Variable, Float32Array][] = [];
    let reason: string | undefined;
    for (const { v, src } of sources) {
      if (!src) continue;
      const t = tensors.get(src.torch);
      if (!t) {
        reason = `tensor '${src.torch}' is not in the checkpoint`;
        break;
      }
      const conv = toTfLayout(t, src, v.shape);
      if (conv.shape.join(',') !== v.shape.join(',')) {
        reason = why(layer, src, t, conv, v.shape, model);
        break;
      }
      pending.push([v, conv.data]);
    }
    if (reason) result.skipped.push({ layer, reason });
    else {
      updates.push(...pending);
      result.loaded.push(layer);
    }
  }
  if (result.loaded.length === 0) {
    const shown = result.skipped.slice(0, 5).map((s) => `${s.layer}: ${s.reason}`);
    const more = result.skipped.length > 5 ? `\n  ... and ${result.skipped.length - 5} more` : '';
    throw new UserError(
      `pretrained weights ${file} fit no layer of ${backbone} (width ${model.options.width}, input ${model.options.inputSize}):\n  ${shown.join('\n  ')}${more}`,
    );
  }
  for (const [v, data] of updates) tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  return result;
}
