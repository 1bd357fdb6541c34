/**
 * Training curves: loss and training accuracy against step for every run of the spec on one
 * chart each, and the test-set accuracy curves (evalEvery rows, ending at the final evaluation)
 * when runs logged them. One colour per condition; seeds of a condition share it.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import type { Canvas } from '@napi-rs/canvas';
import { runLabel, type Condition } from '../conditions.js';
import type { ReportRun } from '../source.js';
import { chartCanvas, colourOf, gridFigure, type GridLayout } from './canvas.js';

export const CURVES_LAYOUT: GridLayout = { columns: 2, cellWidth: 600, cellHeight: 360, titleHeight: 36, footerHeight: 0, gap: 10 };

interface Series {
  label: string;
  colour: string;
  /** The first run of its condition carries the legend entry. */
  legend: boolean;
  points: { x: number; y: number }[];
}

/** Which panels the curves figure has: loss, training accuracy, then one per test set with eval rows. */
export function curvePanels(conditions: Condition[]): string[] {
  const tests = new Set<string>();
  for (const c of conditions) for (const r of c.done) for (const row of r.metrics) for (const k of Object.keys(row)) if (k.startsWith('eval.')) tests.add(k.slice(5, -'.accuracy'.length));
  return ['loss', 'accuracy', ...[...tests].map((t) => `eval.${t}`)];
}

function series(conditions: Condition[], pick: (run: ReportRun) => { x: number; y: number }[]): Series[] {
  const out: Series[] = [];
  conditions.forEach((c, i) =>
    c.done.forEach((run, k) => {
      const points = pick(run);
      if (points.length) out.push({ label: c.runs.length > 1 ? c.label : runLabel(c, run), colour: colourOf(i), legend: k === 0, points });
    }),
  );
  return out;
}

const trainPoints = (key: 'loss' | 'accuracy') => (run: ReportRun) =>
  run.metrics.filter((m) => typeof m[key] === 'number').map((m) => ({ x: m.step, y: key === 'accuracy' ? 100 * m[key] : m[key] }));

/** Eval rows of one test set, closed by the final evaluation at the last step. */
const evalPoints = (test: string) => (run: ReportRun) => {
  const key = `eval.${test}.accuracy`;
  const pts = run.metrics.filter((m) => typeof m[key] === 'number').map((m) => ({ x: m.step, y: 100 * m[key] }));
  const final = run.eval?.tests[test];
  if (pts.length && final && run.meta) pts.push({ x: run.meta.totalSteps, y: 100 * final.accuracy });
  return pts;
};

function lineChart(title: string, yLabel: string, data: Series[], chance?: number): Canvas {
  const datasets: ChartDataset<'line', { x: number; y: number }[]>[] = data.map((s) => ({
    label: s.label,
    data: s.points,
    borderColor: s.colour,
    backgroundColor: s.colour,
    borderWidth: 2,
    pointRadius: s.points.length > 40 ? 0 : 2,
    tension: 0,
  }));
  if (chance !== undefined && data.length) {
    const xs = data.flatMap((s) => s.points.map((p) => p.x));
    datasets.push({
      label: `chance (${chance.toFixed(1)}%)`,
      data: [
        { x: Math.min(...xs), y: chance },
        { x: Math.max(...xs), y: chance },
      ],
      borderColor: '#888888',
      backgroundColor: '#888888',
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
    });
  }
  const legendOf = new Map(datasets.map((d, i) => [i, i >= data.length || data[i].legend]));
  const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step (updates)' } },
        y: { type: 'linear', title: { display: true, text: yLabel }, ...(chance !== undefined ? { min: 0 } : {}) },
      },
      plugins: {
        title: { display: true, text: title, font: { size: 14, weight: 'bold' } },
        legend: { position: 'bottom', labels: { boxWidth: 14, filter: (item) => legendOf.get(item.datasetIndex ?? 0) ?? true } },
      },
    },
  };
  return chartCanvas(config as ChartConfiguration, CURVES_LAYOUT.cellWidth, CURVES_LAYOUT.cellHeight);
}

export function curvesFigure(conditions: Condition[], chance: number): Promise<Buffer> {
  const panels = curvePanels(conditions).map((p) => {
    if (p === 'loss') return lineChart('Training loss (mean over each logging window)', 'cross-entropy', series(conditions, trainPoints('loss')));
    if (p === 'accuracy') return lineChart('Training accuracy (each logging window)', 'accuracy (%)', series(conditions, trainPoints('accuracy')), chance);
    const test = p.slice(5);
    return lineChart(`Test accuracy on "${test}" during training`, 'accuracy (%)', series(conditions, evalPoints(test)), chance);
  });
  return gridFigure(panels, CURVES_LAYOUT, 'Training curves: every finished run of the spec (seeds of a condition share a colour)');
}
