/** Helpers for spec tests: a spec file in a temp folder, and the SpecError a load must end in. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '../../src/spec/index.js';

/** A minimal valid spec (synthetic data, 10 iterations, one test set) to build cases on. */
export const MINI = `datasets:
  synthetic: {format: synthetic, train: 100, test: 20}
train:
  data: [{dataset: synthetic, split: train}]
  iterations: 10
test:
  clean: {dataset: synthetic, split: test}
`;

/** Awaits `p` and returns the SpecError it rejects with; fails when it resolves or throws anything else. */
export async function specError(p: Promise<unknown>): Promise<SpecError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected SpecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a SpecError');
}

/** Writes `text` to `name` (default spec.yaml) in a fresh temp folder; returns its path. */
export function tmpSpec(text: string, name = 'spec.yaml', dir = mkdtempSync(join(tmpdir(), 'acnn-spec-'))): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
