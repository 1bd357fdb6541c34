import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';
import { describeForSummary, regionsForRows, summaryJson, summaryText } from '../../model/summary.js';
import { readLandmarkFile } from '../../data/landmarks/file.js';
import type { Backbone, Variant } from '../../model/types.js';

const BACKBONE_CHOICES = ['vgg16', 'resnet18'];
const VARIANT_CHOICES = ['base', 'pcnn', 'pacnn', 'gcnn', 'gacnn', 'dlpcnn'];

interface SummaryArgs {
  backbone: string;
  variant: string;
  inputSize: number;
  width: number;
  classes: number;
  dlpK: number;
  json: boolean;
}

interface RegionsArgs {
  file: string;
  inputSize: number;
  json: boolean;
}

const summary: CommandModule<object, SummaryArgs> = {
  command: 'summary',
  describe: 'per-layer table, trainable parameters and forward FLOPs (computed without allocating weights)',
  builder: (y: Argv) =>
    y
      .option('backbone', { choices: BACKBONE_CHOICES, default: 'vgg16', describe: 'backbone' })
      .option('variant', { choices: VARIANT_CHOICES, default: 'gacnn', describe: 'model variant' })
      .option('input-size', { type: 'number', default: 224, describe: 'square input side in pixels' })
      .option('width', { type: 'number', default: 1, describe: 'channel width multiplier' })
      .option('classes', { type: 'number', default: 7, describe: 'number of classes' })
      .option('dlp-k', { type: 'number', default: 8, describe: 'DLP-CNN attention maps' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<SummaryArgs>,
  handler: (a) => {
    const d = describeForSummary({
      backbone: a.backbone as Backbone,
      variant: a.variant as Variant,
      inputSize: a.inputSize,
      width: a.width,
      numClasses: a.classes,
      dropout: 0.5,
      dlp: { k: a.dlpK, lpLoss: false, lambda: 0.003, neighbours: 20 },
    });
    process.stdout.write((a.json ? JSON.stringify(summaryJson(d), null, 2) : summaryText(d)) + '\n');
  },
};

const regions: CommandModule<object, RegionsArgs> = {
  command: 'regions <file>',
  describe: 'the 24 region centres for each 68-point landmark row of a CSV or JSON file',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'CSV (136 numbers a row, optional id column) or JSON (array of arrays / {landmarks})' })
      .option('input-size', { type: 'number', default: 224, describe: 'side of the square frame the landmarks are in' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<RegionsArgs>,
  handler: async (a) => {
    if (!(a.inputSize > 0)) throw new UserError(`--input-size must be positive, got ${a.inputSize}`);
    const rows = await readLandmarkFile(a.file);
    const out = regionsForRows(rows, a.inputSize);
    if (a.json) {
      process.stdout.write(JSON.stringify(out.map((r) => ({ id: r.id, points: Array.from({ length: 24 }, (_, i) => [r.points[2 * i], r.points[2 * i + 1]]) })), null, 1) + '\n');
      return;
    }
    const header = ['id', ...Array.from({ length: 24 }, (_, i) => [`x${i + 1}`, `y${i + 1}`]).flat()];
    process.stdout.write([header.join(','), ...out.map((r) => [r.id, ...r.points].join(','))].join('\n') + '\n');
  },
};

const cmd: CommandModule = {
  command: 'model <command>',
  describe: 'inspect networks (summary) and region centres (regions)',
  builder: (y: Argv) => y.command(summary).command(regions).demandCommand(1),
  handler: () => {},
};
export default cmd;
