/**
 * A fingerprint of the data a run reads. Run ids leave out where the data lives (a dataset's
 * root), so the id alone cannot tell that a run is about to resume on other data; the
 * fingerprint in meta.json can. It is cheap: the sample list is in memory already and each file
 * costs one stat (its size), not a read.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SampleRef } from '../data/types.js';
import { UserError } from '../util/errors.js';
import type { DataFingerprint, PartFingerprint } from '../rundir/index.js';

export type { DataFingerprint, PartFingerprint };

const memo = new WeakMap<SampleRef[], Promise<Omit<PartFingerprint, 'dataset' | 'split'>>>();

/** The fingerprint of one list of samples (memoised per list: a spec's runs share their listings). */
export function fingerprintSamples(samples: SampleRef[], dataset: string, split: string): Promise<PartFingerprint> {
  let p = memo.get(samples);
  if (!p) {
    p = computeFingerprint(samples);
    memo.set(samples, p);
  }
  return p.then((f) => ({ dataset, split, ...f }));
}

async function computeFingerprint(samples: SampleRef[]): Promise<Omit<PartFingerprint, 'dataset' | 'split'>> {
  const sorted = [...samples].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = createHash('sha256');
  const landmarks = createHash('sha256');
  for (const s of sorted) {
    ids.update(`${s.id}\t${s.label}\n`);
    landmarks.update(s.landmarks ? Buffer.from(s.landmarks.buffer, s.landmarks.byteOffset, s.landmarks.byteLength) : 'none');
  }
  const sizes = await mapLimited(sorted, 64, sizeOf);
  const files = createHash('sha256');
  for (const size of sizes) files.update(`${size}\n`);
  return { samples: samples.length, ids: hex(ids), files: hex(files), landmarks: hex(landmarks) };
}

/** What stands for a sample's bytes: the file's size, a hash of in-memory pixels (FER2013), or nothing (synthetic). */
async function sizeOf(s: SampleRef): Promise<string> {
  const pixels = (s as SampleRef & { pixels?: Uint8Array }).pixels;
  if (pixels) return createHash('sha256').update(pixels).digest('hex').slice(0, 16);
  if (!path.isAbsolute(s.source)) return '-';
  try {
    return String((await fs.stat(s.source)).size);
  } catch {
    return 'unreadable';
  }
}

function hex(h: ReturnType<typeof createHash>): string {
  return h.digest('hex').slice(0, 16);
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Lines that say how `now` differs from `before` (none when the data is the same). */
export function describeDataChange(before: DataFingerprint, now: DataFingerprint): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(now)])) {
    const a = before[key];
    const b = now[key];
    const where = (f: PartFingerprint) => `${key} (${f.dataset}/${f.split})`;
    if (!a) out.push(`${where(b)}: not in the data the run started with`);
    else if (!b) out.push(`${where(a)}: the run started with it, the spec no longer has it`);
    else {
      const what: string[] = [];
      if (a.dataset !== b.dataset || a.split !== b.split) what.push(`was ${a.dataset}/${a.split}`);
      if (a.samples !== b.samples) what.push(`${a.samples} samples then, ${b.samples} now`);
      else if (a.ids !== b.ids) what.push('other sample ids or labels');
      if (a.ids === b.ids && a.files !== b.files) what.push('the same samples, but files of other sizes (other images)');
      if (a.ids === b.ids && a.landmarks !== b.landmarks) what.push('other landmarks');
      if (what.length) out.push(`${where(b)}: ${what.join('; ')}`);
    }
  }
  return out;
}

/**
 * Stops a run that would resume from its checkpoint on data other than it was trained on:
 * the model would have learnt from two datasets, and its results would stand for neither.
 */
export function checkResumeData(ctx: { runId: string; runDir: string; specFile: string; step: number }, before: DataFingerprint | undefined, now: DataFingerprint): void {
  if (!before) return; // started before fingerprints were recorded: nothing to compare
  const changes = describeDataChange(before, now);
  if (!changes.length) return;
  throw new UserError(
    `${ctx.runDir}: run ${ctx.runId} would resume from its checkpoint (step ${ctx.step}) on other data than it was trained on:\n` +
      changes.map((c) => `  ${c}`).join('\n') +
      `\nResuming would train one model on two datasets. To train it again from the start on the current data: acnn run ${ctx.specFile} --force --only ${ctx.runId}` +
      '\n(or point the spec back at the data it started with to finish it as begun).',
  );
}
