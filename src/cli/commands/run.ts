import type { CommandModule } from 'yargs';
import { BACKEND_CHOICES } from '../../engine/backend.js';

interface Args {
  spec: string;
  set?: string[];
  only?: string[];
  force?: boolean;
  backend: string;
  json?: boolean;
  quiet?: boolean;
  results: string;
  cache: string;
  workers: string;
  report?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'run <spec>',
  describe: 'Train and evaluate every run of a spec, then write its table CSV (finished runs are skipped, interrupted ones resume)',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Override a key before validation: --set train.lr=0.01' })
      .option('only', { type: 'string', array: true, describe: 'Run only these run ids (see acnn plan)' })
      .option('force', { type: 'boolean', describe: 'Rerun finished runs from scratch' })
      .option('backend', {
        type: 'string',
        choices: [...BACKEND_CHOICES],
        default: 'auto',
        describe: 'TensorFlow.js backend; auto takes the first that loads (tfjs-node-gpu, tfjs-node, wasm, cpu); webgpu only by name (npm run install:webgpu)',
      })
      .option('json', { type: 'boolean', describe: 'One JSON event per line on stdout (for scripts)' })
      .option('quiet', { type: 'boolean', describe: 'Print nothing but failures' })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('cache', { type: 'string', default: '.cache', describe: 'Cache directory (synthetic images, landmarks)' })
      .option('workers', {
        type: 'string',
        default: 'auto',
        describe: 'Runs trained at once, each in its own process; auto = one per core on the single-threaded WebAssembly/JS backends, 1 on native TensorFlow',
      })
      .option('report', { type: 'boolean', describe: 'Write results/<spec>/REPORT.md and its figures at the end (as acnn report does)' })
      .example('$0 run configs/quickstart.yaml', 'the main job on the built-in synthetic dataset')
      .example('$0 run configs/quickstart.yaml --report', 'the same, then the report with its figures')
      .example('$0 run configs/table2.yaml --set train.iterations=1000', 'a shorter Table II'),
  handler: async (args) => {
    const { runSpec } = await import('../../train/run-spec.js');
    const { createReporter } = await import('../../train/progress.js');
    const { buildTables } = await import('../../report/build.js');
    const { LocalLauncher, autoWorkers, createDisplay } = await import('../../launch/index.js');
    const { chooseProgressMode } = await import('../../util/progress.js');
    const { UserError } = await import('../../util/errors.js');
    const workers = args.workers === 'auto' ? autoWorkers(args.backend, Infinity) : Number(args.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new UserError(`--workers must be a positive integer or auto, got ${args.workers}`);
    const mode = chooseProgressMode(args);
    const launcher = workers > 1 ? new LocalLauncher({ workers, display: createDisplay(mode, 'runs') }) : undefined;
    const reporter = createReporter(mode);
    let result: Awaited<ReturnType<typeof runSpec>>;
    try {
      result = await runSpec(args.spec, {
        launcher,
        reporter,
        set: args.set,
        only: args.only,
        force: args.force,
        backend: args.backend as never,
        resultsDir: args.results,
        cacheDir: args.cache,
      });
      // The runner writes run directories and plan.json; the table is built from them.
      const table = await buildTables(result.loaded, result.resultsDir, result.plan.runs);
      reporter.emit({ type: 'spec-end', ...result.counts, table });
      process.exitCode = result.exitCode;
    } finally {
      reporter.close();
    }
    // Not after Ctrl-C: the user asked to stop.
    if (result.exitCode === 130) return;
    const { reportAfterRun } = await import('../../report/write-report.js');
    const said = await reportAfterRun(result.loaded, { resultsDir: args.results, write: !!args.report });
    if (args.json) console.log(JSON.stringify({ type: 'report', file: said.file ?? null, written: !!args.report && !!said.file, message: said.message }));
    else if (!args.quiet) console.error(said.message);
  },
};
export default cmd;
