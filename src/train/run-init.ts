/**
 * Where a run's weights start, settled before any training so that a missing file stops the
 * spec at once (exit 2) with the command that fixes it:
 * - `model.pretrained: imagenet`: torchvision's ImageNet checkpoint of the backbone from the
 *   user's weights cache (acnn weights get); a path: that .pth / .safetensors file.
 * - `model.init`: another run's trained model (fine-tuning): `{spec, where}` names a finished
 *   run of another spec, `{checkpoint}` a checkpoint or run directory.
 */
import path from 'node:path';
import { expandRuns, loadSpec, type RunConfig } from '../spec/index.js';
import { UserError } from '../util/errors.js';
import { catalogFor, resolveImagenet, weightsDir } from '../weights/store.js';
import { RunDir } from '../rundir/index.js';
import { isDir, isFile } from '../util/fs.js';

export interface RunInit {
  /** Torchvision weights to import (named layer skips are reported). */
  pretrained?: { source: string; file: string };
  /** An acnn checkpoint directory whose matching variables start the run. */
  checkpoint?: { source: string; dir: string };
}

export interface ModelInitSpec {
  spec?: string;
  where?: Record<string, unknown>;
  checkpoint?: string;
}

export async function resolvePretrained(cfg: RunConfig): Promise<RunInit['pretrained']> {
  const p = cfg.model.pretrained;
  if (!p) return undefined;
  if (p === 'imagenet') {
    const file = await resolveImagenet(cfg.model.backbone);
    if (!file) {
      const entry = catalogFor(cfg.model.backbone);
      throw new UserError(
        `model.pretrained: imagenet needs torchvision's ImageNet weights for ${cfg.model.backbone} (${entry.file}), which are not installed in ${weightsDir()}.\n` +
          `Run: acnn weights get ${entry.name}\n(or acnn weights import FILE with a copy you have; model.pretrained: null trains from scratch)`,
      );
    }
    return { source: 'imagenet', file };
  }
  if (!(await isFile(p))) throw new UserError(`model.pretrained: ${p} does not exist (give a .pth or .safetensors file, imagenet, or null)`);
  return { source: p, file: p };
}

/** Dotted lookup into a run config (tags.* included). */
function valueAt(obj: unknown, dotted: string): unknown {
  let cur = obj;
  for (const k of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export async function resolveModelInit(init: ModelInitSpec | undefined, resultsDir: string): Promise<RunInit['checkpoint']> {
  if (!init) return undefined;
  if (init.checkpoint) {
    const dir = (await isFile(path.join(init.checkpoint, 'model.json'))) ? init.checkpoint : path.join(init.checkpoint, 'checkpoint');
    if (!(await isDir(dir))) throw new UserError(`model.init.checkpoint: ${init.checkpoint} is neither a checkpoint nor a run directory with one`);
    return { source: init.checkpoint, dir };
  }
  const specFile = init.spec!;
  const loaded = await loadSpec(specFile);
  const where = init.where ?? {};
  const runs = expandRuns(loaded).filter((r) => Object.entries(where).every(([k, v]) => JSON.stringify(valueAt(r.config, k)) === JSON.stringify(v)));
  const shown = `model.init: ${specFile} where ${JSON.stringify(where)}`;
  if (runs.length !== 1) throw new UserError(`${shown} selects ${runs.length} runs; it must select exactly one (acnn plan ${specFile} lists them)`);
  const dir = RunDir.for(resultsDir, loaded.name, runs[0].id);
  const meta = await dir.readMeta();
  if (meta?.status !== 'done') {
    throw new UserError(`${shown} is run ${runs[0].id}, which has not finished (${meta ? `status ${meta.status}` : 'not started'} in ${dir.dir}).\nRun: acnn run ${specFile} --only ${runs[0].id}`);
  }
  return { source: `${specFile}#${runs[0].id}`, dir: dir.checkpointDir };
}

/** Everything a run starts from; throws a UserError naming the fix when something is missing. */
export async function resolveRunInit(cfg: RunConfig, resultsDir: string): Promise<RunInit> {
  const init = (cfg.model as { init?: ModelInitSpec }).init;
  const out: RunInit = {};
  const pretrained = await resolvePretrained(cfg);
  if (pretrained) out.pretrained = pretrained;
  const checkpoint = await resolveModelInit(init, resultsDir);
  if (checkpoint) out.checkpoint = checkpoint;
  return out;
}
