import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions, SampleRef } from '../types.js';
import { exists, fieldCountProblem, loadFileRef, problem, readLines, requireFile, requireRoot, requireSplit, type AdapterRef } from './common.js';

const LAYOUT = `  EmoLabel/list_patition_label.txt      lines "train_00001.jpg 5" (1 surprise .. 7 neutral)
  Image/aligned/train_00001_aligned.jpg  (aligned: true, the default)
  Image/original/train_00001.jpg         (aligned: false)`;

/** RAF-DB codes 1..7 (surprise, fear, disgust, happiness, sadness, anger, neutral) onto CLASSES. */
const RAF_TO_CLASS: Record<string, number> = { '1': 6, '2': 3, '3': 2, '4': 4, '5': 5, '6': 1, '7': 0 };

export const rafdbAdapter: DatasetAdapter = {
  format: 'rafdb',
  splits: () => ['train', 'test'],
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    requireSplit('rafdb', split, ['train', 'test']);
    const root = await requireRoot(options, 'rafdb', LAYOUT);
    // Spec key `aligned` (boolean, default true); `images: original|aligned` is accepted too.
    const mode = options.aligned === false || options.images === 'original' ? 'original' : 'aligned';
    const labelFile = await requireFile(path.join(root, 'EmoLabel', 'list_patition_label.txt'), options, 'rafdb', LAYOUT);
    const lines = await readLines(labelFile);
    const samples: SampleRef[] = [];
    const problems: DataProblem[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const parts = line.split(/\s+/);
      const name = parts[0];
      const wrongCount = fieldCountProblem(parts, { exactly: 2, names: '"<image> <1..7>"' }, labelFile, i + 1);
      const own = /^(train|test)_/.exec(name)?.[1];
      if (!own) {
        // A row that belongs to no split is reported once, with train.
        if (split === 'train') problems.push(problem('bad-label', labelFile, `image name '${name}' does not start with train_ or test_`, i + 1));
        continue;
      }
      if (own !== split) continue;
      if (wrongCount) {
        problems.push(wrongCount);
        continue;
      }
      const label = RAF_TO_CLASS[parts[1]];
      if (label === undefined) {
        problems.push(problem('bad-label', labelFile, `expected "<image> <1..7>", got '${line}'`, i + 1));
        continue;
      }
      const stem = name.replace(/\.[^.]+$/, '');
      const ext = path.extname(name) || '.jpg';
      const file = mode === 'aligned' ? path.join(root, 'Image', 'aligned', `${stem}_aligned${ext}`) : path.join(root, 'Image', 'original', name);
      if (!(await exists(file))) {
        problems.push(problem('missing-file', file, `image listed at ${path.basename(labelFile)}:${i + 1} not found`, i + 1));
        continue;
      }
      samples.push({ id: stem, source: file, label, split });
    }
    return { samples, problems };
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
