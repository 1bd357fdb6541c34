/**
 * The report's figures, from finished run directories: which ones a spec gets and their PNG
 * bytes. Names are stable (test-set names made file-safe) so a regenerated report overwrites
 * the same files.
 */
import type { Condition } from '../conditions.js';
import { classNames } from '../source.js';
import { attentionFigure, attentionRows } from './attention.js';
import { confusionFigure, confusionPanels } from './confusion.js';
import { curvesFigure } from './curves.js';
import { gateHistogramFigure, histogramPanels } from './gate-histogram.js';

export interface Figure {
  /** File name inside the figures folder. */
  file: string;
  kind: 'confusion' | 'attention' | 'curves' | 'gate-histogram';
  /** One line for the report under the image. */
  caption: string;
  png: Buffer;
}

export const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Every figure the finished runs support, in a fixed order: confusion per test set, attention, curves, gate histogram. */
export async function buildFigures(conditions: Condition[], chance: number): Promise<Figure[]> {
  const done = conditions.flatMap((c) => c.done);
  if (!done.length) return [];
  const figures: Figure[] = [];
  const tests = [...new Set(done.flatMap((r) => Object.keys(r.eval!.tests)))];
  for (const test of tests) {
    const panels = confusionPanels(conditions, test);
    if (!panels.length) continue;
    figures.push({
      file: `confusion-${safeName(test)}.png`,
      kind: 'confusion',
      caption: `Confusion matrices on "${test}" (Fig. 8 style), one panel per condition; rows are true classes normalised to 100%, with counts.`,
      png: await confusionFigure(panels, test),
    });
  }
  const rows = await attentionRows(conditions);
  if (rows.length) {
    const firstTest = Object.values(rows[0].run.eval!.tests)[0];
    figures.push({
      file: 'attention.png',
      kind: 'attention',
      caption: 'Gate weights of the first test faces (Fig. 10 style), one row per gated condition (its first finished run); same faces clean and occluded side by side.',
      png: await attentionFigure(rows, classNames(firstTest)),
    });
  }
  figures.push({
    file: 'curves.png',
    kind: 'curves',
    caption: 'Loss and accuracy against training step for every finished run; test-set accuracy during training when the runs set train.evalEvery.',
    png: await curvesFigure(conditions, chance),
  });
  const hist = histogramPanels(conditions);
  if (hist.length) {
    figures.push({
      file: 'gate-histogram.png',
      kind: 'gate-histogram',
      caption: 'Distribution of the gate weight α on covered (≥ 50% of the window occluded) and uncovered patches, each as a share of its own patches.',
      png: await gateHistogramFigure(hist),
    });
  }
  return figures;
}
