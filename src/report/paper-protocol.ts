/**
 * The paper's training protocol (Section IV-A, and the released nets: shared/reference) and how
 * the spec's runs depart from it, listed from the run configs, so a reader knows which of our
 * numbers can be compared with the paper's and which only in shape.
 */
import { flatten, show } from './conditions.js';
import type { ReportRun } from './source.js';

interface ProtocolCheck {
  what: string;
  paper: string;
  /** Our value(s) of the setting, or undefined when they match the paper. */
  ours: (flat: Record<string, unknown>) => string | undefined;
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));
const unless = (ok: boolean, text: string) => (ok ? undefined : text);

const datasetsOf = (flat: Record<string, unknown>) =>
  Object.keys(flat)
    .filter((k) => /^datasets\.[^.]+\.format$/.test(k))
    .map((k) => String(flat[k]));

const CHECKS: ProtocolCheck[] = [
  {
    what: 'data',
    paper: 'real face datasets (RAF-DB, AffectNet, CK+, ...)',
    ours: (f) => unless(!datasetsOf(f).includes('synthetic'), "acnn's built-in synthetic faces: the paper's numbers are on real data, so compare shapes, not values"),
  },
  {
    what: 'occluders',
    paper: '~4k photos of occluding objects (not public)',
    ours: (f) => {
      const kinds = [...new Set(Object.keys(f).filter((k) => k.endsWith('occlusion.occluders')).map((k) => show(f[k])))];
      return kinds.length ? `${kinds.join(', ')} occluders` : undefined;
    },
  },
  { what: 'input size', paper: '224 px', ours: (f) => unless(num(f['model.inputSize']) === 224, `${show(f['model.inputSize'])} px`) },
  { what: 'channel width', paper: 'full (1)', ours: (f) => unless(num(f['model.width']) === 1, `${show(f['model.width'])} of the paper's channels`) },
  {
    what: 'initialisation',
    paper: 'ImageNet',
    ours: (f) => unless(f['model.pretrained'] === 'imagenet', f['model.pretrained'] ? `from ${show(f['model.pretrained'])}` : 'from scratch'),
  },
  {
    what: 'optimiser',
    paper: 'SGD, lr 0.001, momentum 0.9, weight decay 0.0005, poly decay',
    ours: (f) =>
      unless(
        f['train.optimizer'] === 'sgd' && num(f['train.lr']) === 0.001 && num(f['train.momentum']) === 0.9 && num(f['train.weightDecay']) === 0.0005 && f['train.lrPolicy.type'] === 'poly',
        `${show(f['train.optimizer'])}, lr ${show(f['train.lr'])}, ${show(f['train.lrPolicy.type'])} decay`,
      ),
  },
  {
    what: 'batch',
    paper: '128 images per update',
    ours: (f) => {
      const b = num(f['train.batchSize']) * num(f['train.accumulate'] ?? 1);
      return unless(b === 128, `${b} images per update`);
    },
  },
  {
    what: 'updates',
    paper: '50,000',
    ours: (f) => (f['train.iterations'] !== undefined ? unless(num(f['train.iterations']) === 50000, `${show(f['train.iterations'])}`) : `${show(f['train.epochs'])} epochs`),
  },
  { what: 'dropout', paper: '0.5', ours: (f) => unless(num(f['model.dropout']) === 0.5, show(f['model.dropout'])) },
  { what: 'class layer init', paper: 'not stated', ours: (f) => unless(f['model.classifierInit'] === undefined, `${show(f['model.classifierInit'])}`) },
  { what: 'patch dropout', paper: 'none', ours: (f) => unless(!num(f['model.patchDropout']), `${show(f['model.patchDropout'])} (beyond the paper)`) },
  {
    what: 'gate supervision',
    paper: 'none',
    ours: (f) => unless(!num(f['train.gateSupervision.weight']), `weight ${show(f['train.gateSupervision.weight'])} (beyond the paper)`),
  },
];

/** Rows of (setting, paper, ours) where some run departs from the paper; several values joined. */
export function protocolDifferences(runs: ReportRun[]): { what: string; paper: string; ours: string }[] {
  const out: { what: string; paper: string; ours: string }[] = [];
  for (const check of CHECKS) {
    const values = [...new Set(runs.map((r) => check.ours(flatten(r.config))).filter((v): v is string => v !== undefined))];
    if (values.length) out.push({ what: check.what, paper: check.paper, ours: values.join('; ') });
  }
  return out;
}
