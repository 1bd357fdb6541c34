/** Plain-text tables of a BenchResult (what `npm run bench` prints without --json). */
import { formatKernelBench } from './kernels.js';
import type { BenchResult, RatioRow } from './run.js';
import type { StepProfile, TimingResult } from './model-bench.js';
import type { TorchResult } from './torch.js';

function table(header: string[], rows: string[][], leftCols = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ms = (v: number | null | undefined) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ips = (v: number | null | undefined) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(2)}x`);
const mparams = (n: number) => `${(n / 1e6).toFixed(2)}M`;

function section(title: string, body: string): string {
  return `${title}\n${body}\n`;
}

export function formatBench(b: BenchResult): string {
  const out: string[] = [];
  const m = b.machine;
  out.push(
    `acnn bench  ${m.date}\n` +
      `machine: ${m.cpu}, ${m.cores} cores${m.simd.length ? ` (${m.simd.join(' ')})` : ''}, ${m.memoryGiB} GiB; ${m.platform}; node ${m.node}; tfjs ${m.tfjs}\n` +
      `load average at start: ${m.loadStart.join(' ')} (1/5/15 min); at end: ${b.loadEnd.join(' ')}; run took ${b.elapsedSec} s\n` +
      `timing: median of ${b.options.iters} after ${b.options.warmup} warm-up (train = forward + backward + SGD momentum step; infer = eval-mode forward);\n` +
      `  ms = wall time, cpu ms = this process's CPU time, load = 1-min load average after the case\n`,
  );
  const busy = Math.max(m.loadStart[0], b.loadEnd[0]);
  if (busy > m.cores * 0.75) {
    out.push(
      `WARNING: the machine was busy (1-min load up to ${busy} on ${m.cores} cores): wall times are inflated and PyTorch's multi-thread\n` +
        `  numbers are unreliable; compare the CPU-time ratio, or rerun when \`uptime\` shows a low load.\n`,
    );
  }
  out.push(
    section(
      'Backends',
      b.backends.map((s) => `  ${s.name.padEnd(15)} ${s.available ? `${s.device}; ${s.scope ?? ''}` : `unavailable: ${s.reason}`}`).join('\n'),
    ),
  );
  const torchLine = !b.torch.enabled
    ? 'PyTorch: not run (--no-torch)'
    : b.torch.available
      ? `PyTorch ${b.torch.info?.torch} (Python ${b.torch.info?.python}, ${b.torch.info?.parallel?.join('; ') ?? ''}, mkldnn ${b.torch.info?.mkldnn}), ` +
        `threads ${b.options.torchThreads.join(' and ')}. tfjs wasm runs on 1 thread, so the fair comparison is PyTorch with 1 thread.`
      : `PyTorch: skipped (${b.torch.reason})`;
  out.push(torchLine + '\n');

  const groups = new Map<string, TimingResult[]>();
  for (const r of b.results) {
    const key = `${r.backend}|${r.mode}|${r.width}|${r.batch}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const torchFor = (r: TimingResult, threads: number): TorchResult | undefined =>
    b.torch.results.find((t) => t.threads === threads && t.variant === r.variant && t.inputSize === r.inputSize && t.width === r.width && t.batch === r.batch && t.mode === r.mode);
  for (const [key, rows] of groups) {
    const [backend, mode, width, batch] = key.split('|');
    const title =
      `${mode === 'train' ? 'Training step' : 'Inference'} on ${backend}: VGG16, width ${width}, batch ${batch}` +
      (b.torch.available ? ` | PyTorch 1 thread (t1) and 2 threads (t2); ratio = tfjs time / PyTorch time` : '');
    const header = ['size', 'variant', 'params', 'GFLOP/img', 'tfjs ms', 'img/s', 'cpu ms', 'load'];
    if (b.torch.available) header.push('t1 ms', 't1 img/s', 't2 ms', 't2 img/s', 'tfjs/t1', 'tfjs/t2', 'cpu tfjs/t1');
    const body = rows.map((r) => {
      const cells = [String(r.inputSize), r.variant, mparams(r.params), r.gflopsPerImage.toFixed(3), ms(r.medianMs), ips(r.imagesPerSec), ms(r.cpuMedianMs), r.load1.toFixed(2)];
      if (b.torch.available) {
        const t1 = torchFor(r, 1);
        const t2 = torchFor(r, 2);
        cells.push(ms(t1?.medianMs), ips(t1?.imagesPerSec), ms(t2?.medianMs), ips(t2?.imagesPerSec));
        cells.push(ratio(t1 ? r.medianMs / t1.medianMs : null), ratio(t2 ? r.medianMs / t2.medianMs : null), ratio(t1 && t1.cpuMedianMs > 0 ? r.cpuMedianMs / t1.cpuMedianMs : null));
      }
      return cells;
    });
    out.push(section(title, table(header, body)));
  }

  if (b.torch.available) {
    const t = b.target;
    const what = `wasm training-step CPU time within ${t.ratio}x of PyTorch's, 1 thread, for base and pACNN at 112`;
    if (t.met == null) out.push(`Target (${what}): not checked (no such wasm training results with PyTorch next to them)\n`);
    else {
      const w = t.worst as RatioRow;
      out.push(
        `Target (${what}): ${t.met ? 'MET' : 'NOT MET'} over ${t.checked} cases; ` +
          `worst ${w.variant} at ${w.inputSize}: ${ratio(w.cpuRatio1)} CPU time, ${ratio(w.ratio1)} wall (vs 2 threads ${ratio(w.ratio2)} wall)\n` +
          `  (wall times on a shared machine move with other processes' load; the CPU-time ratio is the steadier of the two)\n`,
      );
    }
    if (b.torch.paramMismatches.length) out.push(`PARAMETER COUNT MISMATCH tfjs vs torch: ${b.torch.paramMismatches.join('; ')}\n`);
    else if (b.torch.results.length) out.push('Parameter counts: PyTorch twin equals describeModel for every case.\n');
    if (b.torch.errors.length) out.push(`PyTorch errors: ${b.torch.errors.join('; ')}\n`);
  }

  for (const p of b.profiles) out.push(formatProfile(p));
  if (b.kernels) out.push(section('Replacement wasm kernels (src/bench/kernels.ts)', formatKernelBench(b.kernels)));
  if (b.notes.length) out.push(section('Notes', b.notes.map((n) => `  ${n}`).join('\n')));
  return out.join('\n');
}

export function formatProfile(p: StepProfile, top = 14): string {
  const title =
    `Profile of one training step on ${p.backend}: VGG16 ${p.variant}, input ${p.inputSize}, width ${p.width}, batch ${p.batch}: ` +
    `${p.stepMs.toFixed(0)} ms (forward kernels ${p.kernelMs.forward.toFixed(0)}, backward ${p.kernelMs.backward.toFixed(0)}, ` +
    `update ${p.kernelMs.update.toFixed(0)}, outside kernels ${p.outsideKernelsMs.toFixed(0)}; load ${p.load1})`;
  const rows = p.rows.slice(0, top).map((r) => [
    r.kernel,
    r.phase,
    String(r.calls),
    ms(r.ms),
    `${(r.share * 100).toFixed(1)}%`,
    r.gflop == null ? '-' : r.gflop.toFixed(2),
    r.gflops == null ? '-' : r.gflops.toFixed(1),
  ]);
  const rest = p.rows.slice(top);
  if (rest.length) {
    const restMs = rest.reduce((a, r) => a + r.ms, 0);
    rows.push([`(${rest.length} more)`, '', String(rest.reduce((a, r) => a + r.calls, 0)), ms(restMs), `${((restMs / p.stepMs) * 100).toFixed(1)}%`, '', '']);
  }
  return section(title, table(['kernel', 'phase', 'calls', 'ms', 'share', 'GFLOP', 'GFLOP/s'], rows));
}
