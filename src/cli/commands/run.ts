import type { CommandModule } from 'yargs';

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
        choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'],
        default: 'auto',
        describe: 'TensorFlow.js backend; auto takes the first that loads (tfjs-node-gpu, tfjs-node, wasm, cpu)',
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
      .example('$0 run configs/quickstart.yaml', 'the main job on the built-in synthetic dataset')
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
    try {
      const result = await runSpec(args.spec, {
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
  },
};
export default cmd;
