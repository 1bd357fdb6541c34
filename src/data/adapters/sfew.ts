import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions } from '../types.js';
import { classFromName, requireDir, listDirs, listImages, loadFileRef, problem, requireRoot, requireSplit, type AdapterRef } from './common.js';

const LAYOUT = `  Train/Train_Aligned_Faces/<Angry|Disgust|Fear|Happy|Neutral|Sad|Surprise>/*.png
  Val/Val_Aligned_Faces/<Class>/*.png        (test labels are not public)`;

/** Lists <dir>/<Class>/<image> trees (SFEW, FED-RO); unknown class folders are reported, not guessed. */
export async function listClassFolders(dir: string, split: string, idPrefix: string): Promise<{ samples: AdapterRef[]; problems: DataProblem[] }> {
  const samples: AdapterRef[] = [];
  const problems: DataProblem[] = [];
  for (const folder of await listDirs(dir)) {
    const label = classFromName(folder);
    if (label === undefined) {
      problems.push(problem('bad-label', path.join(dir, folder), `folder name '${folder}' is not one of the seven classes; skipped`));
      continue;
    }
    for (const name of await listImages(path.join(dir, folder))) {
      samples.push({ id: `${idPrefix}${folder}/${name}`, source: path.join(dir, folder, name), label, split });
    }
  }
  return { samples, problems };
}

export const sfewAdapter: DatasetAdapter = {
  format: 'sfew',
  splits: () => ['train', 'val'],
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    requireSplit('sfew', split, ['train', 'val']);
    const root = await requireRoot(options, 'sfew', LAYOUT);
    const top = split === 'train' ? 'Train' : 'Val';
    const dir = path.join(root, top, `${top}_Aligned_Faces`);
    await requireDir(dir, options, 'sfew', LAYOUT);
    return listClassFolders(dir, split, `${top}/`);
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
