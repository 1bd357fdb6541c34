import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions, DecodedSample } from '../types.js';
import { exists, fieldCountProblem, problem, readText, requireRoot, requireSplit, type AdapterRef } from './common.js';
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

/** FER2013's images: 48 x 48 grey pixels, row-major. */
const SIDE = 48;
const PIXELS = SIDE * SIDE;

/** Column of each field: from the header when there is one (some copies order them emotion,Usage,pixels). */
function columnsOf(header: string[] | undefined): { emotion: number; pixels: number; usage: number } {
  const names = (header ?? []).map((h) => h.trim().toLowerCase());
  const at = (n: string, d: number) => (names.includes(n) ? names.indexOf(n) : d);
  return { emotion: at('emotion', 0), pixels: at('pixels', 1), usage: at('usage', 2) };
}

/** The 2,304 grey values of a row, or what is wrong with them. */
function parsePixels(text: string): Uint8Array | string {
  const values = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (values.length !== PIXELS) return `pixels: ${values.length} values, expected ${PIXELS} (${SIDE}x${SIDE})`;
  const pixels = new Uint8Array(PIXELS);
  for (let k = 0; k < PIXELS; k++) {
    const v = Number(values[k]);
    if (!/^\d+$/.test(values[k]) || v > 255) return `pixels: value ${k + 1} is '${values[k].slice(0, 20)}', not an integer 0..255`;
    pixels[k] = v;
  }
  return pixels;
}

async function parse(csv: string): Promise<Parsed> {
  const st = await fs.stat(csv);
  const hit = parsedCache.get(csv);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit;
  const records = parseCsv(await readText(csv), csv);
  const bySplit = new Map<string, AdapterRef[]>([['train', []], ['val', []], ['test', []]]);
  const problems = new Map<string, DataProblem[]>([['train', []], ['val', []], ['test', []]]);
  const header = records.length && records[0].fields.some((f) => /emotion/i.test(f)) ? records[0].fields : undefined;
  const col = columnsOf(header);
  for (const { fields, line: lineNo } of records.slice(header ? 1 : 0)) {
    const usage = fields[col.usage];
    const split = USAGE[(usage ?? '').trim().toLowerCase()];
    // A row that cannot be placed in a split is reported with train.
    const probs = problems.get(split ?? 'train')!;
    const wrongCount = fieldCountProblem(fields, { exactly: 3, names: 'emotion,pixels,Usage' }, csv, lineNo);
    if (wrongCount) {
      probs.push(wrongCount);
      continue;
    }
    if (!split) {
      probs.push(problem('bad-label', csv, `Usage '${usage ?? ''}' is not Training, PublicTest or PrivateTest`, lineNo));
      continue;
    }
    const emo = fields[col.emotion].trim();
    const code = Number(emo);
    if (!/^\d$/.test(emo) || code > 6) {
      probs.push(problem('bad-label', csv, `emotion '${emo}' is not a code 0..6`, lineNo));
      continue;
    }
    const pixels = parsePixels(fields[col.pixels]);
    if (typeof pixels === 'string') {
      probs.push(problem('bad-record', csv, pixels, lineNo));
      continue;
    }
    bySplit.get(split)!.push({ id: `${split}/${lineNo}`, source: `${csv}#${lineNo}`, label: FER_TO_CLASS[code], split, pixels, pixelsWidth: SIDE });
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
