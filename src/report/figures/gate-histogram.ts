/**
 * Histogram of gate weights α on covered vs uncovered patches (eval.json's 20-bin histograms),
 * one panel per gated run and occluded test set. Each group is shown as a share of its own
 * patches, so the two shapes compare although covered patches are fewer.
 */
import type { ChartConfiguration } from 'chart.js';
import { runLabel, type Condition } from '../conditions.js';
import type { OcclusionDiagnostics } from '../source.js';
import { chartCanvas, gridFigure, type GridLayout } from './canvas.js';

export const HISTOGRAM_LAYOUT: GridLayout = { columns: 2, cellWidth: 560, cellHeight: 340, titleHeight: 36, footerHeight: 0, gap: 10 };

/** An AUC for a title; eval.json stores an undefined one (no patch covered >= 50%) as null. */
const aucText = (auc: number): string => (Number.isFinite(auc) ? auc.toFixed(3) : 'n/a (no patch covered enough)');

export interface HistogramPanel {
  title: string;
  occlusion: OcclusionDiagnostics;
}

/** Every (finished gated run, test set) whose diagnostics carry an α histogram. */
export function histogramPanels(conditions: Condition[]): HistogramPanel[] {
  const out: HistogramPanel[] = [];
  for (const c of conditions) {
    for (const run of c.done) {
      for (const [test, result] of Object.entries(run.eval!.tests)) {
        const occ = result.patches?.occlusion;
        if (occ?.alpha) out.push({ title: `${runLabel(c, run)}, ${test}: α AUC ${aucText(occ.alpha.auc)}`, occlusion: occ });
      }
    }
  }
  return out;
}

const share = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((v) => (total ? (100 * v) / total : 0));
};

function panel(p: HistogramPanel) {
  const h = p.occlusion.alpha!.histogram;
  const labels = Array.from({ length: h.bins }, (_, i) => (i / h.bins).toFixed(2));
  const covered = p.occlusion.covered;
  const uncovered = p.occlusion.patches - covered;
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: `covered (≥ ${Math.round(100 * p.occlusion.threshold)}% of the window), ${covered} patches`, data: share(h.covered), backgroundColor: 'rgba(225,87,89,0.75)', borderColor: '#e15759', borderWidth: 1 },
        { label: `uncovered, ${uncovered} patches`, data: share(h.uncovered), backgroundColor: 'rgba(78,121,167,0.6)', borderColor: '#4e79a7', borderWidth: 1 },
      ],
    },
    options: {
      scales: {
        x: { title: { display: true, text: 'gate weight α (bin start)' }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 11 } },
        y: { min: 0, title: { display: true, text: '% of the group’s patches' } },
      },
      plugins: {
        title: { display: true, text: p.title, font: { size: 14, weight: 'bold' } },
        legend: { position: 'bottom', labels: { boxWidth: 14 } },
      },
    },
  };
  return chartCanvas(config as ChartConfiguration, HISTOGRAM_LAYOUT.cellWidth, HISTOGRAM_LAYOUT.cellHeight);
}

export function gateHistogramFigure(panels: HistogramPanel[]): Promise<Buffer> {
  return gridFigure(panels.map(panel), HISTOGRAM_LAYOUT, 'Gate weights α on patches the occluder covers vs the others (0.5 AUC = no difference)');
}
