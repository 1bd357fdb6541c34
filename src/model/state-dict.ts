/**
 * One entry point for weight files: a PyTorch checkpoint (.pth/.pt, zip or legacy format) or a
 * .safetensors file, recognised by content, with key names brought to torchvision's:
 * DataParallel's `module.` prefix is dropped, and timm's VGG names (`pre_logits.fc1` as a 7x7
 * convolution, `pre_logits.fc2` as a 1x1 one) become torchvision's `classifier.0` / `classifier.3`.
 * timm's ResNet names are torchvision's already.
 */
import { UserError } from '../util/errors.js';
import { parseSafetensors, SafetensorsError, type SafeTensor } from './safetensors.js';
import { readHead, readTorchCheckpoint, torchFormatOf } from './torch-pth.js';
import { promises as fs } from 'node:fs';

export type StateDict = Map<string, SafeTensor>;
export type WeightFormat = 'pth-zip' | 'pth-legacy' | 'safetensors';

/** The format a file's first bytes announce, or null. */
export async function weightFormatOf(file: string): Promise<WeightFormat | null> {
  const head = await readHead(file, 9);
  const torch = torchFormatOf(head);
  if (torch) return torch === 'zip' ? 'pth-zip' : 'pth-legacy';
  // safetensors: 8-byte header length, then a JSON object.
  if (head.length === 9 && head[8] === 0x7b) return 'safetensors';
  return null;
}

export async function readStateDict(file: string): Promise<StateDict> {
  let format: WeightFormat | null;
  try {
    format = await weightFormatOf(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `weights file ${file} does not exist` : `weights file ${file}: cannot read (${(err as Error).message})`);
  }
  let raw: StateDict;
  if (format === 'safetensors') {
    try {
      raw = parseSafetensors(await fs.readFile(file), file);
    } catch (err) {
      if (err instanceof SafetensorsError) throw new UserError(err.message);
      throw err;
    }
  } else if (format) {
    raw = await readTorchCheckpoint(file);
  } else {
    throw new UserError(`${file}: not a weights file acnn reads (a PyTorch .pth checkpoint, zip or legacy format, or a .safetensors file)`);
  }
  return normaliseKeys(raw);
}

/** torchvision names for the few other conventions we meet. */
export function normaliseKeys(dict: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [name, t] of dict) {
    let key = name.startsWith('module.') ? name.slice('module.'.length) : name;
    let tensor = t;
    const m = key.match(/^pre_logits\.fc([12])\.(weight|bias)$/);
    if (m) {
      key = `classifier.${m[1] === '1' ? 0 : 3}.${m[2]}`;
      // A conv kernel [O, C, H, W] flattens in torch's C,H,W order: exactly the Linear's [O, C*H*W].
      if (m[2] === 'weight' && t.shape.length === 4) tensor = { ...t, shape: [t.shape[0], t.shape[1] * t.shape[2] * t.shape[3]] };
    }
    out.set(key, tensor);
  }
  return out;
}
