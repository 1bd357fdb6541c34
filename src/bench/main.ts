/**
 * `npm run bench` entry point.
 *
 *   node dist/bench/main.js [--backend wasm,cpu] [--quick] [--json] [--variants base,pacnn]
 *     [--sizes 112,64] [--batch 16] [--width 0.25] [--iters 5] [--warmup 1] [--no-full]
 *     [--full-batch 2] [--no-torch] [--threads 1,2] [--python /usr/bin/python3]
 *     [--profile base,pacnn | --no-profile] [--no-kernels]
 *
 * Progress goes to stderr; the table (or with --json, one JSON document) to stdout.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { BackendName } from '../engine/backend.js';
import type { Variant } from '../model/types.js';
import { formatBench } from './format.js';
import { ALL_BACKENDS, ALL_VARIANTS, defaultOptions, runBench, type BenchOptions } from './run.js';

export class BenchArgError extends Error {}

const USAGE = `usage: npm run bench -- [options]
  --backend LIST     backends to try: all (default) or a comma list of ${ALL_BACKENDS.join(', ')}
  --quick            CI smoke: variants base,pacnn, input 64, 2 timed steps, no full-size, profile or kernel bench
  --json             print one JSON document instead of tables
  --variants LIST    comma list of ${ALL_VARIANTS.join(', ')} (default: all)
  --sizes LIST       input sizes of the width-0.25 runs (default 112,64; >= 32)
  --batch N          batch of those runs (default 16)
  --width W          width multiplier of those runs (default 0.25)
  --iters N          timed steps; the median is reported (default 5, quick 2)
  --warmup N         untimed steps first (default 1)
  --no-full          skip full-size (224, width 1) inference
  --full-batch N     batch of the full-size inference (default 2; WebAssembly has 4 GiB)
  --no-torch         skip PyTorch
  --threads LIST     PyTorch thread counts (default 1,2)
  --python PATH      interpreter with torch (default /usr/bin/python3)
  --profile LIST     variants whose training step is profiled per kernel (default base,pacnn,gacnn)
  --no-profile       no per-kernel profile
  --no-kernels       skip the replacement-kernel micro-bench`;

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

function ints(name: string, v: string | undefined, min: number): number[] | undefined {
  const l = list(v);
  if (!l) return undefined;
  return l.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new BenchArgError(`--${name}: '${s}' is not an integer >= ${min}`);
    return n;
  });
}

function variants(name: string, v: string | undefined): Variant[] | undefined {
  const l = list(v);
  if (!l) return undefined;
  for (const x of l) if (!ALL_VARIANTS.includes(x as Variant)) throw new BenchArgError(`--${name}: unknown variant '${x}' (${ALL_VARIANTS.join(' | ')})`);
  return l as Variant[];
}

export function parseBenchArgs(argv: string[]): { options: BenchOptions; json: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        backend: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        variants: { type: 'string' },
        sizes: { type: 'string' },
        batch: { type: 'string' },
        width: { type: 'string' },
        iters: { type: 'string' },
        warmup: { type: 'string' },
        'no-full': { type: 'boolean', default: false },
        'full-batch': { type: 'string' },
        'no-torch': { type: 'boolean', default: false },
        threads: { type: 'string' },
        python: { type: 'string' },
        profile: { type: 'string' },
        'no-profile': { type: 'boolean', default: false },
        'no-kernels': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new BenchArgError((err as Error).message);
  }
  const v = parsed.values;
  const o = defaultOptions(v.quick!);
  const backends = list(v.backend);
  if (backends && !(backends.length === 1 && backends[0] === 'all')) {
    for (const b of backends) if (!ALL_BACKENDS.includes(b as BackendName)) throw new BenchArgError(`--backend: unknown backend '${b}' (all | ${ALL_BACKENDS.join(' | ')})`);
    o.backends = backends as BackendName[];
  }
  o.variants = variants('variants', v.variants) ?? o.variants;
  o.sizes = ints('sizes', v.sizes, 32) ?? o.sizes;
  o.batch = ints('batch', v.batch, 1)?.[0] ?? o.batch;
  o.iters = ints('iters', v.iters, 1)?.[0] ?? o.iters;
  o.warmup = ints('warmup', v.warmup, 0)?.[0] ?? o.warmup;
  o.fullBatch = ints('full-batch', v['full-batch'], 1)?.[0] ?? o.fullBatch;
  o.torchThreads = ints('threads', v.threads, 1) ?? o.torchThreads;
  if (v.width !== undefined) {
    const w = Number(v.width);
    if (!(w > 0)) throw new BenchArgError(`--width: '${v.width}' is not a positive number`);
    o.width = w;
  }
  if (v['no-full']) o.full = false;
  if (v['no-torch']) o.torch = false;
  if (v.python) o.python = v.python;
  o.profile = variants('profile', v.profile) ?? o.profile.filter((p) => o.variants.includes(p));
  if (v['no-profile']) o.profile = [];
  if (v['no-kernels']) o.kernels = false;
  return { options: o, json: v.json!, help: v.help! };
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof BenchArgError) {
      process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = { ...args.options, log: (line: string) => process.stderr.write(`${line}\n`) };
  const result = await runBench(options);
  process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : formatBench(result));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
