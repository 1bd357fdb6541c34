import path from 'node:path';
import type { DatasetAdapter, DatasetListing, DatasetOptions, DataProblem } from '../types.js';
import { classFromName, listDirs, listImages, loadFileRef, problem, requireDir, requireRoot, requireSplit, type AdapterRef } from './common.js';

const LAYOUT = `  OriginalImg/VL/Strong/P001/<Anger|Disgust|Fear|Happiness|Sadness|Surprise>/000.jpeg ...
  (options: light VL|NI, illumination Strong|Weak|Dark, peakFrames N = last N frames of each sequence, default 3)`;

/**
 * Oulu-CASIA: one sequence per subject and expression, onset neutral to apex. As in the paper
 * (and the works it compares with), the first frame is a neutral sample and the last
 * `peakFrames` frames carry the sequence's label.
 */
export const ouluAdapter: DatasetAdapter = {
  format: 'oulu',
  splits: () => ['all'],
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    requireSplit('oulu', split, ['all']);
    const root = await requireRoot(options, 'oulu', LAYOUT);
    const light = typeof options.light === 'string' ? options.light : 'VL';
    const illum = typeof options.illumination === 'string' ? options.illumination : 'Strong';
    const peak = Number.isInteger(options.peakFrames) && (options.peakFrames as number) > 0 ? (options.peakFrames as number) : 3;
    const base = await requireDir(path.join(root, 'OriginalImg', light, illum), options, 'oulu', LAYOUT);
    const samples: AdapterRef[] = [];
    const problems: DataProblem[] = [];
    for (const subject of await listDirs(base)) {
      for (const folder of await listDirs(path.join(base, subject))) {
        const label = classFromName(folder);
        const dir = path.join(base, subject, folder);
        if (label === undefined) {
          problems.push(problem('bad-label', dir, `folder name '${folder}' is not an expression; skipped`));
          continue;
        }
        const frames = await listImages(dir);
        if (frames.length < peak + 1) {
          problems.push(problem('missing-file', dir, `sequence has ${frames.length} frame(s); need 1 neutral + ${peak} peak`));
          continue;
        }
        const picks: [string, number][] = [[frames[0], 0], ...frames.slice(-peak).map((f): [string, number] => [f, label])];
        for (const [frame, cls] of picks) {
          samples.push({ id: `${subject}/${folder}/${frame}`, source: path.join(dir, frame), label: cls, split, subject });
        }
      }
    }
    return { samples, problems };
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
