import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions, DecodedSample } from '../types.js';
import { exists, problem, requireRoot, requireSplit, type AdapterRef } from './common.js';
import { parseCsv } from '../csv.js';
import { DataError, greyToRgb } from '../images.js';
import { UserError } from '../../util/errors.js';

const LAYOUT = `  fer2013.csv   header "emotion,pixels,Usage"; 48x48 grey pixels space-separated;
                Usage Training -> train, PublicTest -> val, PrivateTest -> test`;

/** FER2013 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral onto CLASSES. */
const FER_TO_CLASS = [1, 2, 3, 4, 5, 6, 0];
const USAGE: Record<string, string> = { training: 'train', publictest: 'val', privatetest: 'test' };

interface Parsed {
  mtimeMs: number;
  bySplit: Map<string, AdapterRef[]>;
  problems: Map<string, DataProblem[]>;
}
// The CSV holds every split; parse it once per process, not once per split.
const parsedCache = new Map<string, Parsed>();

async function parse(csv: string): Promise<Parsed> {
  const st = await fs.stat(csv);
  const hit = parsedCache.get(csv);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit;
  const records = parseCsv(await fs.readFile(csv, 'utf8'), csv);
  const bySplit = new Map<string, AdapterRef[]>([['train', []], ['val', []], ['test', []]]);
  const problems = new Map<string, DataProblem[]>([['train', []], ['val', []], ['test', []]]);
  const start = records.length && records[0].fields.some((f) => /emotion/i.test(f)) ? 1 : 0;
  for (const { fields, line: lineNo } of records.slice(start)) {
    const [emo, pix, usage] = fields;
    const split = USAGE[(usage ?? '').trim().toLowerCase()];
    // A row with an unreadable Usage cannot be placed; it is reported with train.
    const probs = problems.get(split ?? 'train')!;
    if (!split) {
      probs.push(problem('bad-label', csv, `Usage '${usage ?? ''}' is not Training, PublicTest or PrivateTest`, lineNo));
      continue;
    }
    const code = Number(emo);
    if (emo === undefined || emo.trim() === '' || !Number.isInteger(code) || code < 0 || code > 6) {
      probs.push(problem('bad-label', csv, `emotion '${emo ?? ''}' is not a code 0..6`, lineNo));
      continue;
    }
    const values = (pix ?? '').trim().split(/\s+/);
    const side = Math.round(Math.sqrt(values.length));
    if (side * side !== values.length || side < 8) {
      probs.push(problem('corrupt-image', csv, `pixels: ${values.length} values do not form a square image`, lineNo));
      continue;
    }
    const pixels = new Uint8Array(values.length);
    let bad = false;
    for (let k = 0; k < values.length; k++) {
      const v = Number(values[k]);
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        bad = true;
        break;
      }
      pixels[k] = v;
    }
    if (bad) {
      probs.push(problem('corrupt-image', csv, 'pixels: values must be integers 0..255', lineNo));
      continue;
    }
    bySplit.get(split)!.push({ id: `${split}/${lineNo}`, source: `${csv}#${lineNo}`, label: FER_TO_CLASS[code], split, pixels, pixelsWidth: side });
  }
  const parsed = { mtimeMs: st.mtimeMs, bySplit, problems };
  parsedCache.set(csv, parsed);
  return parsed;
}

export const fer2013Adapter: DatasetAdapter = {
  format: 'fer2013',
  splits: () => ['train', 'val', 'test'],
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    requireSplit('fer2013', split, ['train', 'val', 'test']);
    const root = await requireRoot(options, 'fer2013', LAYOUT);
    const candidates = [path.join(root, 'fer2013.csv'), path.join(root, 'fer2013', 'fer2013.csv')];
    let csv: string | undefined;
    for (const c of candidates) if (await exists(c)) csv = csv ?? c;
    if (!csv) throw new UserError(`dataset '${options.name}' (fer2013): ${candidates[0]} not found.\nExpected layout under the root:\n${LAYOUT}`);
    const parsed = await parse(csv);
    return { samples: parsed.bySplit.get(split)!.slice(), problems: parsed.problems.get(split)!.slice() };
  },
  async load(ref: AdapterRef): Promise<DecodedSample> {
    if (!ref.pixels || !ref.pixelsWidth) throw new DataError(ref.source, 'FER2013 sample has no pixels (list the split first)', 'other');
    if (!ref.landmarks) throw new DataError(ref.source, 'no landmarks (run landmark detection first: acnn data check --detect)', 'bad-landmarks');
    const side = ref.pixelsWidth;
    return { id: ref.id, width: side, height: side, rgb: greyToRgb(ref.pixels), landmarks: ref.landmarks, label: ref.label };
  },
};
