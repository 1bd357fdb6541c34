import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions } from '../types.js';
import { readText, requireDir, listDirs, listImages, loadFileRef, parseLandmarks, problem, readLines, requireRoot, requireSplit, type AdapterRef } from './common.js';

const LAYOUT = `  cohn-kanade-images/S005/001/S005_001_00000001.png ...
  Emotion/S005/001/S005_001_00000011_emotion.txt        one float: 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise
  Landmarks/S005/001/S005_001_00000001_landmarks.txt    68 lines "x y"`;

/** CK+ 0..7 onto CLASSES; 2 (contempt) is -1: the paper leaves it out. */
const CK_TO_CLASS = [0, 1, -1, 2, 3, 4, 5, 6];

async function readCkLandmarks(file: string, problems: DataProblem[]): Promise<Float32Array | undefined> {
  let lines: string[];
  try {
    lines = await readLines(file);
  } catch (err) {
    // No landmarks file: the sample goes to detection. Any other failure is the file's problem.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(problem('bad-landmarks', file, (err as Error).message));
    return undefined;
  }
  // 68 lines "x y": a line of another shape means the file is not what it should be.
  const rows = lines.map((l, i) => ({ line: i + 1, values: l.trim().split(/\s+/).filter((v) => v !== '') })).filter((r) => r.values.length > 0);
  const odd = rows.find((r) => r.values.length !== 2);
  if (odd) {
    problems.push(problem('bad-landmarks', file, `expected 68 lines of two numbers "x y", found ${odd.values.length} value(s) on a line`, odd.line));
    return undefined;
  }
  if (rows.length !== 68) {
    problems.push(problem('bad-landmarks', file, `expected 68 lines of two numbers "x y", found ${rows.length}`));
    return undefined;
  }
  const pts = parseLandmarks(rows.flatMap((r) => r.values));
  if (typeof pts === 'string') {
    problems.push(problem('bad-landmarks', file, pts));
    return undefined;
  }
  return pts;
}

/**
 * CK+: each labelled sequence gives its first frame (neutral) and its last frame (the peak,
 * with the sequence's label), as in the paper. Contempt sequences are dropped whole so the
 * neutral class is not inflated by sequences whose peak is unused.
 */
export const ckplusAdapter: DatasetAdapter = {
  format: 'ckplus',
  splits: () => ['all'],
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    requireSplit('ckplus', split, ['all']);
    const root = await requireRoot(options, 'ckplus', LAYOUT);
    const imgRoot = path.join(root, 'cohn-kanade-images');
    const emoRoot = path.join(root, 'Emotion');
    const lmRoot = path.join(root, 'Landmarks');
    await requireDir(imgRoot, options, 'ckplus', LAYOUT);
    await requireDir(emoRoot, options, 'ckplus', LAYOUT);
    const samples: AdapterRef[] = [];
    const problems: DataProblem[] = [];
    for (const subject of await listDirs(emoRoot)) {
      for (const seq of await listDirs(path.join(emoRoot, subject))) {
        const emoDir = path.join(emoRoot, subject, seq);
        const emoFiles = (await fs.readdir(emoDir)).filter((n) => n.endsWith('_emotion.txt')).sort();
        if (emoFiles.length === 0) continue;
        const emoFile = path.join(emoDir, emoFiles[0]);
        let text: string;
        try {
          text = (await readText(emoFile)).trim();
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
          problems.push(problem('bad-label', emoFile, err.message));
          continue;
        }
        const code = Number(text);
        if (text === '' || !Number.isInteger(code) || code < 1 || code > 7) {
          problems.push(problem('bad-label', emoFile, `expected one emotion code 1..7, got '${text.slice(0, 40)}'`, 1));
          continue;
        }
        const label = CK_TO_CLASS[code];
        if (label < 0) continue;
        const frames = await listImages(path.join(imgRoot, subject, seq));
        if (frames.length < 2) {
          problems.push(problem('missing-file', path.join(imgRoot, subject, seq), `labelled sequence has ${frames.length} frame(s); need the first and the last`));
          continue;
        }
        const pick: [string, number][] = [
          [frames[0], 0],
          [frames[frames.length - 1], label],
        ];
        for (const [frame, cls] of pick) {
          const stem = frame.replace(/\.[^.]+$/, '');
          const landmarks = await readCkLandmarks(path.join(lmRoot, subject, seq, `${stem}_landmarks.txt`), problems);
          samples.push({
            id: `${subject}/${seq}/${stem}`,
            source: path.join(imgRoot, subject, seq, frame),
            label: cls,
            split,
            subject,
            ...(landmarks ? { landmarks } : {}),
          });
        }
      }
    }
    return { samples, problems };
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
