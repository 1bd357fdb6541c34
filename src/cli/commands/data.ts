import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';
import type { DatasetOptions } from '../../data/types.js';
import { namedBars } from '../../util/progress.js';

/** What `acnn data` needs from a spec: its datasets, and for preview the input size and occlusion. */
export interface SpecData {
  datasets: Record<string, DatasetOptions>;
  inputSize: number;
  occlusion?: Record<string, unknown>;
}

/**
 * The spec part of `acnn data`: a thin call to loadSpec (src/spec), which validates,
 * interpolates ${env:...} and applies --set.
 */
export async function specData(file: string, set: string[] = []): Promise<SpecData> {
  const { loadSpec } = await import('../../spec/index.js');
  const loaded = await loadSpec(file, { set });
  const spec = loaded.spec as unknown as {
    datasets?: Record<string, Record<string, unknown>>;
    model?: { inputSize?: number };
    train?: { occlusion?: Record<string, unknown> };
    test?: Record<string, { occlusion?: Record<string, unknown> }>;
  };
  const datasets: Record<string, DatasetOptions> = {};
  for (const [name, entry] of Object.entries(spec.datasets ?? {})) {
    datasets[name] = { ...entry, name, format: String(entry.format) };
  }
  const testOcc = Object.values(spec.test ?? {}).find((t) => t && t.occlusion)?.occlusion;
  return { datasets, inputSize: spec.model?.inputSize ?? 112, occlusion: testOcc ?? spec.train?.occlusion };
}

function pickDatasets(all: Record<string, DatasetOptions>, wanted: string | undefined, file: string): Record<string, DatasetOptions> {
  if (Object.keys(all).length === 0) throw new UserError(`${file} defines no datasets`);
  if (!wanted) return all;
  if (!all[wanted]) throw new UserError(`${file} has no dataset '${wanted}' (it has: ${Object.keys(all).join(', ')})`);
  return { [wanted]: all[wanted] };
}

interface CheckArgs {
  spec: string;
  dataset?: string;
  json?: boolean;
  set?: string[];
  detect?: boolean;
  decode?: boolean;
  'no-face'?: string;
}

interface PreviewArgs {
  spec: string;
  dataset?: string;
  split?: string;
  count: number;
  occluded?: boolean;
  out: string;
  set?: string[];
  size?: number;
  seed: number;
}

async function runCheck(args: CheckArgs): Promise<void> {
  const { checkDatasets, formatCheck } = await import('../../data/check.js');
  const sd = await specData(args.spec, args.set);
  const datasets = pickDatasets(sd.datasets, args.dataset, args.spec);
  const bars = !args.json && process.stderr.isTTY ? namedBars() : undefined;
  let result;
  try {
    result = await checkDatasets(datasets, {
      decode: args.decode !== false,
      detect: !!args.detect,
      noFace: args['no-face'] === 'skip' ? 'skip' : args['no-face'] === 'meanShape' ? 'meanShape' : undefined,
      onProgress: bars && ((name, split, done, total) => bars.update(`${name}/${split}`, done, total)),
    });
  } finally {
    bars?.stop();
  }
  if (args.json) process.stdout.write(`${JSON.stringify(result.report, null, 2)}\n`);
  else console.log(formatCheck(result));
}

export interface PreviewOptions {
  split?: string;
  count: number;
  inputSize: number;
  occlusion?: Record<string, unknown>;
  seed: number;
}

/**
 * A contact sheet of one split: samples taken round-robin over the classes, through the test
 * transform (and occlusion when asked), with the 24 region centres the model would use.
 */
export async function renderPreview(options: DatasetOptions, o: PreviewOptions): Promise<{ png: Buffer; count: number; split: string; inputSize: number }> {
  const [{ getAdapter }, { resolveLandmarks }, { createLoader }, { renderContactSheet }, { regionPoints }, { CLASSES }] = await Promise.all([
    import('../../data/registry.js'),
    import('../../data/landmarks/index.js'),
    import('../../data/loader.js'),
    import('../../data/preview.js'),
    import('../../model/regions.js'),
    import('../../data/types.js'),
  ]);
  const adapter = getAdapter(options.format);
  const splits = adapter.splits(options);
  const split = o.split ?? (splits.includes('test') ? 'test' : splits[0]);
  const listing = await adapter.list(options, split);
  // Landmarks are resolved for the picked samples only (a few spares for no-face skips), so a
  // preview of a large dataset never waits for detection over all of it.
  const byClass = CLASSES.map((_, c) => listing.samples.filter((s) => s.label === c));
  const candidates = [];
  const want = Math.min(listing.samples.length, o.count + Math.ceil(o.count / 4));
  for (let round = 0; candidates.length < want; round++) {
    for (const list of byClass) if (round < list.length && candidates.length < want) candidates.push(list[round]);
  }
  const resolved = await resolveLandmarks(adapter, options, candidates, { detect: true });
  const picked = resolved.samples.filter((s) => s.landmarks).slice(0, o.count);
  if (picked.length === 0) throw new UserError(`dataset '${options.name}' split '${split}' has no samples with landmarks to preview`);
  const S = o.inputSize;
  const loader = createLoader({
    adapter,
    options,
    samples: picked,
    inputSize: S,
    train: false,
    batchSize: picked.length,
    seed: o.seed,
    occlusion: o.occlusion,
    maxBadFraction: 1,
  });
  const items = [];
  for await (const batch of loader) {
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
        // The paper's 6x6 patch on the 28x28 conv4_2 map, in input pixels.
        patchSide: Math.round((6 * (S / 8)) / 28) * 8,
        mask: batch.occluderMasks?.slice(b * S * S, (b + 1) * S * S),
        label: CLASSES[batch.labels[b]],
      });
    }
  }
  const png = await renderContactSheet(items, { title: `${options.name} / ${split} (${S}px)` });
  return { png, count: items.length, split, inputSize: S };
}

async function runPreview(args: PreviewArgs): Promise<void> {
  const sd = await specData(args.spec, args.set);
  const datasets = pickDatasets(sd.datasets, args.dataset, args.spec);
  const [name, options] = Object.entries(datasets)[0];
  const png = await renderPreview(options, {
    split: args.split,
    count: args.count,
    inputSize: args.size ?? sd.inputSize,
    occlusion: args.occluded ? { ...(sd.occlusion ?? {}), ratio: 1 } : undefined,
    seed: args.seed,
  });
  await fs.mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
  await fs.writeFile(args.out, png.png);
  console.log(`wrote ${args.out}: ${png.count} samples of ${name}/${png.split} at ${png.inputSize}px${args.occluded ? ', occluded' : ''}`);
}

const cmd: CommandModule = {
  command: 'data <command>',
  describe: 'Check datasets and preview samples with landmarks, patches and occluders',
  builder: (y: Argv) =>
    y
      .command({
        command: 'check <spec>',
        describe: 'Per-split and per-class counts, missing/corrupt files, bad labels, landmark coverage',
        builder: (c: Argv) =>
          c
            .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
            .option('dataset', { type: 'string', describe: 'Only this dataset of the spec' })
            .option('json', { type: 'boolean', describe: 'Print the report as JSON' })
            .option('set', { type: 'string', array: true, describe: 'Override a spec key: key=value' })
            .option('detect', { type: 'boolean', describe: 'Run the landmark detector on images without points (fills the cache)' })
            .option('decode', { type: 'boolean', default: true, describe: 'Decode every image (--no-decode only lists)' })
            .option('no-face', { type: 'string', choices: ['skip', 'meanShape'], describe: 'What to do with images where no face is found' }),
        handler: (a) => runCheck(a as unknown as CheckArgs),
      })
      .command({
        command: 'preview <spec>',
        describe: 'Contact sheet PNG: labels, 68 landmarks, the 24 patch windows, occluders',
        builder: (c: Argv) =>
          c
            .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
            .option('dataset', { type: 'string', describe: 'Dataset of the spec (default: the first)' })
            .option('split', { type: 'string', describe: 'Split (default: test if the format has it, else its first)' })
            .option('count', { type: 'number', default: 16, describe: 'Samples on the sheet' })
            .option('occluded', { type: 'boolean', describe: "Apply the spec's occlusion to every sample" })
            .option('size', { type: 'number', describe: 'Input size (default: the spec model.inputSize)' })
            .option('seed', { type: 'number', default: 1, describe: 'Seed of the occlusions' })
            .option('set', { type: 'string', array: true, describe: 'Override a spec key: key=value' })
            .option('out', { type: 'string', demandOption: true, describe: 'Output PNG file' }),
        handler: (a) => runPreview(a as unknown as PreviewArgs),
      })
      .demandCommand(1, 'Name a data command: check or preview.'),
  handler: () => undefined,
};
export default cmd;
