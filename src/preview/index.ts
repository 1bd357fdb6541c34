/**
 * What `acnn data` shows of a spec: its datasets (for check and preview), and contact sheets of
 * what the model will see: samples through the test transform (and occlusion), with the 68
 * landmarks, the 24 region centres and the patch windows the model crops. It joins data/ and
 * model/ (the patch window is the model's own: describeModel's patch side on its feature grid).
 */
import { loadSpec } from '../spec/index.js';
import { getAdapter } from '../data/registry.js';
import { resolveLandmarks } from '../data/landmarks/index.js';
import { createLoader } from '../data/loader.js';
import { cropSettings } from '../data/face-crop.js';
import { renderContactSheet, type PreviewItem } from '../data/preview.js';
import { CLASSES, type Batch, type DatasetOptions, type SampleRef } from '../data/types.js';
import { describeModel } from '../model/arch.js';
import { FEATURE_STRIDE } from '../model/crop.js';
import { regionPoints } from '../model/regions.js';
import type { Backbone } from '../model/types.js';
import { UserError } from '../util/errors.js';

/** What `acnn data` needs from a spec: its datasets, and for preview the model's input size, backbone and the occlusion. */
export interface SpecData {
  datasets: Record<string, DatasetOptions>;
  inputSize: number;
  backbone: Backbone;
  occlusion?: Record<string, unknown>;
}

/** The spec part of `acnn data`: loadSpec (validation, ${env:...}, --set) and the parts it reads. */
export async function specData(file: string, set: string[] = []): Promise<SpecData> {
  const loaded = await loadSpec(file, { set });
  const spec = loaded.spec as unknown as {
    datasets?: Record<string, Record<string, unknown>>;
    model?: { inputSize?: number; backbone?: Backbone };
    train?: { occlusion?: Record<string, unknown> };
    test?: Record<string, { occlusion?: Record<string, unknown> }>;
  };
  const datasets: Record<string, DatasetOptions> = {};
  for (const [name, entry] of Object.entries(spec.datasets ?? {})) {
    datasets[name] = { ...entry, name, format: String(entry.format) };
  }
  const testOcc = Object.values(spec.test ?? {}).find((t) => t && t.occlusion)?.occlusion;
  return { datasets, inputSize: spec.model?.inputSize ?? 112, backbone: spec.model?.backbone ?? 'vgg16', occlusion: testOcc ?? spec.train?.occlusion };
}

export interface PreviewOptions {
  split?: string;
  count: number;
  inputSize: number;
  /** Whose patch windows to draw (default vgg16). */
  backbone?: Backbone;
  occlusion?: Record<string, unknown>;
  seed: number;
}

/** The model's patch window in input pixels: its patch side (patchSideFor the trunk's map side) in feature cells. */
export function patchWindow(inputSize: number, backbone: Backbone = 'vgg16'): number {
  try {
    return describeModel({ backbone, variant: 'pacnn', inputSize, width: 1, numClasses: CLASSES.length, dropout: 0 }).patchSide * FEATURE_STRIDE;
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(`preview at ${inputSize}px: ${err.message}`);
    throw err;
  }
}

/**
 * A contact sheet of one split: samples taken round-robin over the classes, through the test
 * transform (and occlusion when asked), with the 24 region centres and the patch windows.
 */
export async function renderPreview(
  options: DatasetOptions,
  o: PreviewOptions,
): Promise<{ png: Buffer; count: number; split: string; inputSize: number; items: PreviewItem[]; crop: string }> {
  const adapter = getAdapter(options.format);
  const splits = adapter.splits(options);
  const split = o.split ?? (splits.includes('test') ? 'test' : splits[0]);
  const listing = await adapter.list(options, split);
  // Landmarks are resolved for the picked samples only (a few spares for no-face skips), so a
  // preview of a large dataset never waits for detection over all of it.
  const candidates = roundRobin(listing.samples, Math.min(listing.samples.length, o.count + Math.ceil(o.count / 4)));
  const resolved = await resolveLandmarks(adapter, options, candidates, { detect: true });
  const picked = resolved.samples.filter((s) => s.landmarks).slice(0, o.count);
  if (picked.length === 0) throw new UserError(`dataset '${options.name}' split '${split}' has no samples with landmarks to preview`);
  const S = o.inputSize;
  const loader = createLoader({ adapter, options, samples: picked, inputSize: S, train: false, batchSize: picked.length, seed: o.seed, occlusion: o.occlusion, maxBadFraction: 1 });
  const patchSide = patchWindow(S, o.backbone);
  const items: PreviewItem[] = [];
  for await (const batch of loader) items.push(...previewItems(batch, S, patchSide));
  const crop = cropSettings(options).mode === 'face' ? 'face crop' : 'no crop';
  const png = await renderContactSheet(items, { title: `${options.name} / ${split} (${S}px, ${crop})` });
  return { png, count: items.length, split, inputSize: S, items, crop };
}

/** Up to `want` samples, one of each class in turn. */
function roundRobin(samples: SampleRef[], want: number): SampleRef[] {
  const byClass = CLASSES.map((_, c) => samples.filter((s) => s.label === c));
  const out: SampleRef[] = [];
  for (let round = 0; out.length < want; round++) {
    for (const list of byClass) if (round < list.length && out.length < want) out.push(list[round]);
  }
  return out;
}

function previewItems(batch: Batch, S: number, patchSide: number): PreviewItem[] {
  const items: PreviewItem[] = [];
  for (let b = 0; b < batch.size; b++) {
    const rgb = new Uint8Array(S * S * 3);
    const src = batch.images.subarray(b * S * S * 3, (b + 1) * S * S * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(src[i] * 255);
    const landmarks = batch.landmarks.slice(b * 136, (b + 1) * 136);
    items.push({
      rgb,
      width: S,
      height: S,
      landmarks,
      points24: regionPoints(landmarks, S),
      patchSide,
      mask: batch.occluderMasks?.slice(b * S * S, (b + 1) * S * S),
      label: CLASSES[batch.labels[b]],
    });
  }
  return items;
}
