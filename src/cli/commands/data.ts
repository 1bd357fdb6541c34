import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';
import type { DatasetOptions } from '../../data/types.js';
import { namedBars } from '../../util/progress.js';
import { writeFileAtomic } from '../../util/atomic.js';

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
  const { specData } = await import('../../preview/index.js');
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

async function runPreview(args: PreviewArgs): Promise<void> {
  const { specData, renderPreview } = await import('../../preview/index.js');
  const sd = await specData(args.spec, args.set);
  const datasets = pickDatasets(sd.datasets, args.dataset, args.spec);
  const [name, options] = Object.entries(datasets)[0];
  const png = await renderPreview(options, {
    split: args.split,
    count: args.count,
    inputSize: args.size ?? sd.inputSize,
    backbone: sd.backbone,
    occlusion: args.occluded ? { ...(sd.occlusion ?? {}), ratio: 1 } : undefined,
    seed: args.seed,
  });
  await writeFileAtomic(path.resolve(args.out), png.png);
  console.log(`wrote ${args.out}: ${png.count} samples of ${name}/${png.split} at ${png.inputSize}px, ${png.crop}${args.occluded ? ', occluded' : ''}`);
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
