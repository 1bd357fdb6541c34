import path from 'node:path';
import type { DataProblem, DatasetAdapter, DatasetListing, DatasetOptions } from '../types.js';
import { UserError } from '../../util/errors.js';
import { CLASSES, classFromName, exists, fieldCountProblem, loadFileRef, parseLandmarks, problem, readRegularFileSync, readText, requireRoot, type AdapterRef } from './common.js';
import { parseCsv, type CsvRecord } from '../csv.js';

const LAYOUT = `  a CSV (spec key file, relative to root), one image a line: path,label[,split][,subject][,x1,y1,...,x68,y68]
  label: a class name (neutral, anger, disgust, fear, happy, sad, surprise; synonyms such as angry, happiness)
         or its index 0..6 in that order. Without a header row the columns are path,label[,136 landmark numbers];
         a header row (path,label,split,subject,x1,y1,...) names them. Paths are relative to root.
  Splits: the values of the split column, else one split 'all'.`;

interface Columns {
  path: number;
  label: number;
  split: number;
  subject: number;
  /** First landmark column; the rest of the row from here. */
  lm: number;
  header: boolean;
}

function columns(first: CsvRecord | undefined): Columns {
  const head = (first?.fields ?? []).map((s) => s.toLowerCase());
  if (head[0] === 'path' || head.includes('label')) {
    const lm = head.findIndex((h) => h === 'x1' || h === 'x0');
    return {
      path: head.indexOf('path'),
      label: head.indexOf('label'),
      split: head.indexOf('split'),
      subject: head.indexOf('subject'),
      lm: lm >= 0 ? lm : head.length,
      header: true,
    };
  }
  return { path: 0, label: 1, split: -1, subject: -1, lm: 2, header: false };
}

function manifestFile(options: DatasetOptions): string {
  const rel = typeof options.file === 'string' ? options.file : typeof options.manifest === 'string' ? options.manifest : undefined;
  if (!rel) throw new UserError(`dataset '${options.name}' (manifest) names no CSV: set file: <csv relative to root>.\nExpected:\n${LAYOUT}`);
  return path.resolve(typeof options.root === 'string' ? options.root : '.', rel);
}

function parseLabel(s: string): number | undefined {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n < CLASSES.length ? n : undefined;
  }
  return classFromName(s);
}

/** The generic adapter (MMI and any dataset without a fixed layout). */
export const manifestAdapter: DatasetAdapter = {
  format: 'manifest',
  splits(options: DatasetOptions): string[] {
    // Splits come from the file itself; manifests are small, so a synchronous read is fine here.
    let records: CsvRecord[];
    try {
      const file = manifestFile(options);
      records = parseCsv(readRegularFileSync(file).toString('utf8'), file, { comments: true });
    } catch {
      return ['all'];
    }
    const col = columns(records[0]);
    if (col.split < 0) return ['all'];
    const seen = new Set<string>();
    for (const r of records.slice(1)) {
      const v = r.fields[col.split];
      if (v) seen.add(v);
    }
    return seen.size ? [...seen] : ['all'];
  },
  async list(options: DatasetOptions, split: string): Promise<DatasetListing> {
    const root = await requireRoot(options, 'manifest', LAYOUT);
    const csv = manifestFile(options);
    if (!(await exists(csv))) throw new UserError(`dataset '${options.name}' (manifest): ${csv} not found.\nExpected:\n${LAYOUT}`);
    const records = parseCsv(await readText(csv), csv, { comments: true });
    const col = columns(records[0]);
    if (col.header && (col.path < 0 || col.label < 0)) {
      throw new UserError(`dataset '${options.name}' (manifest): ${csv}:1 header must name the columns path and label`);
    }
    if (col.split < 0 && split !== 'all') {
      throw new UserError(`dataset '${options.name}' (manifest): ${csv} has no split column, so its only split is 'all' (asked for '${split}')`);
    }
    const samples: AdapterRef[] = [];
    const problems: DataProblem[] = [];
    for (const { fields: f, line: lineNo } of records.slice(col.header ? 1 : 0)) {
      const wrongCount = fieldCountProblem(f, { atLeast: Math.max(col.path, col.label, col.split) + 1, names: col.split >= 0 ? 'path, label and split columns' : 'path,label' }, csv, lineNo);
      if (wrongCount) {
        // A row too short to name its split is reported with every split's listing.
        problems.push(wrongCount);
        continue;
      }
      if (col.split >= 0 && f[col.split] !== split) continue;
      const p = f[col.path] ?? '';
      const label = parseLabel(f[col.label] ?? '');
      if (!p) {
        problems.push(problem('bad-label', csv, 'empty path', lineNo));
        continue;
      }
      if (label === undefined) {
        problems.push(problem('bad-label', csv, `label '${f[col.label] ?? ''}' is not a class name or index 0..6`, lineNo));
        continue;
      }
      let landmarks: Float32Array | undefined;
      const rest = f.slice(col.lm);
      if (rest.length && rest[rest.length - 1] === '') rest.pop();
      if (rest.length > 0) {
        const pts = parseLandmarks(rest);
        if (typeof pts === 'string') {
          problems.push(problem('bad-landmarks', csv, pts, lineNo));
          continue;
        }
        landmarks = pts;
      }
      const file = path.resolve(root, p);
      if (!(await exists(file))) {
        problems.push(problem('missing-file', file, `image listed at ${path.basename(csv)}:${lineNo} not found`, lineNo));
        continue;
      }
      const subject = col.subject >= 0 ? f[col.subject] : undefined;
      samples.push({ id: p, source: file, label, split, ...(landmarks ? { landmarks } : {}), ...(subject ? { subject } : {}) });
    }
    return { samples, problems };
  },
  load: (ref: AdapterRef) => loadFileRef(ref),
};
