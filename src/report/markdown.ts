/** Markdown building blocks for REPORT.md. */

/** Escapes what would break a table cell. */
export function cellText(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function mdTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.map(cellText).join(' | ')} |`).join('\n');
}

export const bullets = (items: string[]): string => items.map((i) => `- ${i}`).join('\n');

/** A fixed-decimals number, or a dash when missing. */
export function num(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** "1 run", "3 runs". */
export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;
