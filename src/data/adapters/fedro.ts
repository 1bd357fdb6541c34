import path from 'node:path';
import type { DatasetAdapter, DatasetListing, DatasetOptions } from '../types.js';
import { listDirs, loadFileRef, requireRoot, requireSplit, type AdapterRef } from './common.js';
import { listClassFolders } from './sfew.js';
import { UserError } from '../../util/errors.js';

const LAYOUT = `  <class>/*.jpg   one folder per emotion: anger, disgust, fear, happy, neutral (or 'neural', as released), sad, surprise`;

/** FED-RO is a test-only set (400 images with real occlusions). */
export const fedroAdapter: DatasetAdapter = {
  format: 'fedro',
  splits: () => ['all'],
  async list(options: DatasetOptions, requested: string): Promise<DatasetListing> {
    // A test-only set: 'test' names the same images.
    const split = requested === 'test' ? 'all' : requested;
    requireSplit('fedro', split, ['all']);
    const root = await requireRoot(options, 'fedro', LAYOUT);
    if ((await listDirs(root)).length === 0) {
      throw new UserError(`dataset '${options.name}' (fedro): no class folders under ${path.resolve(root)}.\nExpected layout under the root:\n${LAYOUT}`);
    }
    return listClassFolders(root, split, '');
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
