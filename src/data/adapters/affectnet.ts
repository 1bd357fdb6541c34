import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions } from '../types.js';
import { UserError } from '../../util/errors.js';
import { exists, fieldCountProblem, loadFileRef, parseLandmarks, problem, readText, requireFile, requireRoot, requireSplit, type AdapterRef } from './common.js';
import { parseCsv } from '../csv.js';

const LAYOUT = `  training.csv, validation.csv   columns subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal
                                 (validation.csv may lack the header row; landmarks "x1;y1;...;x68;y68")
  Manually_Annotated_Images/<subDirectory_filePath>   (option imagesDir to change)`;

/** AffectNet 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger; 7-10 are dropped as in the paper. */
const AFFECTNET_TO_CLASS = [0, 4, 5, 6, 3, 2, 1];

const HEADER = ['subdirectory_filepath', 'face_x', 'face_y', 'face_width', 'face_height', 'facial_landmarks', 'expression'];

export const affectnetAdapter: DatasetAdapter = {
  format: 'affectnet',
  splits: () => ['train', 'validation'],
  async list(options: DatasetOptions, requested: string): Promise<DatasetListing> {
    // 'val' is accepted for symmetry with SFEW and FER2013.
    const split = requested === 'val' ? 'validation' : requested;
    requireSplit('affectnet', split, ['train', 'validation']);
    const root = await requireRoot(options, 'affectnet', LAYOUT);
    const csv = await requireFile(path.join(root, split === 'train' ? 'training.csv' : 'validation.csv'), options, 'affectnet', LAYOUT);
    const imagesDir = path.resolve(root, typeof options.imagesDir === 'string' ? options.imagesDir : 'Manually_Annotated_Images');
    const checkFiles = options.checkFiles !== false;
    const records = parseCsv(await readText(csv), csv);
    let col: Record<string, number> = { subdirectory_filepath: 0, face_x: 1, face_y: 2, face_width: 3, face_height: 4, facial_landmarks: 5, expression: 6 };
    let start = 0;
    if (records.length && records[0].fields.some((f) => /subdirectory_filepath/i.test(f))) {
      const names = records[0].fields.map((s) => s.toLowerCase());
      col = {};
      for (const h of HEADER) col[h] = names.indexOf(h);
      const missing = HEADER.filter((h) => col[h] < 0);
      if (missing.length) throw new UserError(`${csv}:1: the header lacks the column(s) ${missing.join(', ')}.\nExpected layout under the root:\n${LAYOUT}`);
      start = 1;
    }
    const needed = Math.max(...Object.values(col)) + 1;
    const samples: AdapterRef[] = [];
    const problems: DataProblem[] = [];
    for (const { fields: f, line: lineNo } of records.slice(start)) {
      const wrongCount = fieldCountProblem(f, { atLeast: needed, names: HEADER.join(',') }, csv, lineNo);
      if (wrongCount) {
        problems.push(wrongCount);
        continue;
      }
      const expr = Number(f[col.expression]);
      if (!Number.isInteger(expr) || expr < 0 || expr > 10) {
        problems.push(problem('bad-label', csv, `expression '${f[col.expression] ?? ''}' is not a code 0..10`, lineNo));
        continue;
      }
      // 7 contempt, 8 none, 9 uncertain, 10 no-face: the paper uses the seven basic classes only.
      if (expr > 6) continue;
      const box = [col.face_x, col.face_y, col.face_width, col.face_height].map((c) => Number(f[c]));
      if (box.some((v) => !Number.isFinite(v)) || box[2] <= 0 || box[3] <= 0) {
        problems.push(problem('bad-landmarks', csv, `face box '${box.join(',')}' is not four numbers with positive size`, lineNo));
        continue;
      }
      const pts = parseLandmarks((f[col.facial_landmarks] ?? '').split(';'));
      if (typeof pts === 'string') {
        problems.push(problem('bad-landmarks', csv, pts, lineNo));
        continue;
      }
      const relPath = (f[col.subdirectory_filepath] ?? '').trim();
      if (!relPath) {
        problems.push(problem('bad-record', csv, 'empty image path (subDirectory_filePath)', lineNo));
        continue;
      }
      const file = path.join(imagesDir, relPath);
      if (checkFiles && !(await exists(file))) {
        problems.push(problem('missing-file', file, `image listed at ${path.basename(csv)}:${lineNo} not found`, lineNo));
        continue;
      }
      samples.push({
        id: relPath,
        source: file,
        label: AFFECTNET_TO_CLASS[expr],
        split,
        landmarks: pts,
        crop: { left: box[0], top: box[1], width: box[2], height: box[3] },
      });
    }
    return { samples, problems };
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
