/**
 * What a run id stands for: the settings that change a run's results. Everything else in a run
 * config (where the data lives, how often to log) may change without the run being redone: an
 * id is a promise that two runs with it compute the same thing.
 */
import { isPlainObject } from './paths.js';

export interface IdExclusion {
  /** A dotted key of the run config; `*` matches any one key (a dataset's name). */
  key: string;
  why: string;
}

/**
 * The one list of run-config keys that a run id leaves out (docs/spec.md, "Run ids"). A key goes
 * here only when no value of it can change what a run learns or how it is evaluated.
 */
export const NOT_IN_RUN_ID: readonly IdExclusion[] = [
  { key: 'datasets.*.root', why: 'where the data lives: moving it keeps the ids; meta.json records a fingerprint of the data itself' },
  { key: 'train.logEvery', why: 'how often metrics.jsonl gets a line' },
  { key: 'train.evalEvery', why: 'how often the test sets are evaluated during training (a learning curve; the result is the final evaluation)' },
  { key: 'train.checkpointEvery', why: 'how often a checkpoint is written (a resumed run ends exactly as an uninterrupted one)' },
  { key: 'model.execution', why: 'how the backend computes (the execution plan), not what' },
];

/** The part of a (defaults-applied) run config that its id hashes. Does not modify `config`. */
export function identityOf(config: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const { key } of NOT_IN_RUN_ID) removeKey(copy, key.split('.'));
  return copy;
}

function removeKey(node: unknown, path: string[]): void {
  if (!isPlainObject(node) || path.length === 0) return;
  const [head, ...rest] = path;
  const keys = head === '*' ? Object.keys(node) : [head];
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(node, k)) continue;
    if (rest.length === 0) delete node[k];
    else removeKey(node[k], rest);
  }
}
