import { distance } from 'fastest-levenshtein';

/** The closest candidate to `word` when it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    let d = distance(w, cl);
    if (cl.replace(/[-_]/g, '') === w.replace(/[-_]/g, '')) d = 0.5;
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = word.length <= 1 ? 0.5 : Math.max(1, Math.ceil(word.length / 3));
  return bestD <= limit ? best : undefined;
}

export function hint(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}

export function listOf(values: readonly unknown[], max = 12): string {
  const shown = values.slice(0, max).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return shown.join(', ') + (values.length > max ? `, ... (${values.length - max} more)` : '');
}
