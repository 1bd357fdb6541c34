/**
 * ImageNet initialisation from a torchvision state dict saved as .safetensors
 * (e.g. `safetensors.torch.save_file(torchvision.models.vgg16_bn(weights=...).state_dict(), f)`).
 * Only layers torchvision has are imported (trunk, global branch, VGG fc6/fc7); ACNN units,
 * heads and the class layer keep their seeded initialisation. The name mapping lives next to
 * the descriptions (arch.ts torchvisionSource).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { torchvisionSource, type TorchSource } from './arch.js';
import { readSafetensors, type SafeTensor } from './safetensors.js';
import type { AcnnModel } from './types.js';

export interface PretrainedResult {
  /** Our parameter names that were imported. */
  loaded: string[];
  /** Our parameter names with no torchvision counterpart (kept as initialised). */
  skipped: string[];
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

export async function loadPretrained(model: AcnnModel, file: string): Promise<PretrainedResult> {
  let tensors: Map<string, SafeTensor>;
  try {
    tensors = await readSafetensors(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`pretrained weights: ${file} does not exist`);
    throw new UserError(`pretrained weights: ${e.message}`);
  }
  const loaded: string[] = [];
  const skipped: string[] = [];
  const updates: [tf.Variable, Float32Array][] = [];
  const problems: string[] = [];
  for (const [name, v] of model.namedVariables()) {
    const src = torchvisionSource(model.options.backbone, name);
    if (!src) {
      skipped.push(name);
      continue;
    }
    const t = tensors.get(src.torch);
    if (!t) {
      problems.push(`missing tensor '${src.torch}' (for ${name} [${v.shape}])`);
      continue;
    }
    const conv = toTfLayout(t, src, v.shape);
    if (conv.shape.join(',') !== v.shape.join(',')) {
      problems.push(`tensor '${src.torch}' has shape [${t.shape}] (as [${conv.shape}] in TF layout), ${name} needs [${v.shape}]`);
      continue;
    }
    updates.push([v, conv.data]);
    loaded.push(name);
  }
  if (problems.length) {
    const more = problems.length > 5 ? `\n  ... and ${problems.length - 5} more` : '';
    throw new UserError(`pretrained weights ${file} do not fit ${model.options.backbone} (width ${model.options.width}, input ${model.options.inputSize}):\n  ${problems.slice(0, 5).join('\n  ')}${more}`);
  }
  for (const [v, data] of updates) tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  return { loaded, skipped };
}
