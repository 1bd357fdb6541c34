import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';

interface SweepArgs {
  spec: string;
  grid?: string[];
  set?: string[];
  'dry-run'?: boolean;
  workers?: number;
  executor?: 'local' | 'slurm';
  'retry-failed'?: boolean;
  'fail-fast'?: boolean;
  summary?: boolean;
  submit?: boolean;
  partition?: string;
  account?: string;
  time?: string;
  gpus?: number;
  cpus?: number;
  mem?: string;
  parallel?: number;
  backend?: string;
  json?: boolean;
}

const RESULTS_DIR = 'results';
const CACHE_DIR = '.cache';

const cmd: CommandModule<object, SweepArgs> = {
  command: 'sweep <spec>',
  describe: "Run a spec's hyperparameter sweep: local worker processes or a Slurm job array",
  builder: (y: Argv) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'The spec file' })
      .option('grid', { type: 'string', array: true, describe: 'Sweep a key over values: --grid train.lr=0.01,0.001 (repeatable)' })
      .option('set', { type: 'string', array: true, describe: 'Override a spec key for every trial: --set train.iterations=100' })
      .option('dry-run', { type: 'boolean', describe: 'List the trials with their run ids and values; run nothing' })
      .option('workers', { type: 'number', describe: 'Local executor: trials at once (default: sweep.workers)' })
      .option('executor', { choices: ['local', 'slurm'] as const, describe: 'Where trials run (default: sweep.executor)' })
      .option('retry-failed', { type: 'boolean', describe: 'Run failed trials again (finished ones are never redone)' })
      .option('fail-fast', { type: 'boolean', describe: 'Stop every trial at the first failure' })
      .option('summary', { type: 'boolean', describe: 'Only write results/<spec>/sweep/summary.csv and best.yaml from the run directories' })
      .option('submit', { type: 'boolean', default: true, describe: 'Slurm: submit the array (--no-submit writes the script only)' })
      .option('partition', { type: 'string', describe: 'Slurm partition' })
      .option('account', { type: 'string', describe: 'Slurm account' })
      .option('time', { type: 'string', describe: 'Slurm time limit per trial, e.g. 02:00:00' })
      .option('gpus', { type: 'number', describe: 'Slurm GPUs per trial' })
      .option('cpus', { type: 'number', describe: 'Slurm CPUs per trial' })
      .option('mem', { type: 'string', describe: 'Slurm memory per trial, e.g. 8G' })
      .option('parallel', { type: 'number', describe: 'Slurm: array tasks at once (the %P of --array)' })
      .option('backend', { type: 'string', describe: 'Backend for every trial (passed to acnn run)' })
      .option('json', { type: 'boolean', describe: 'Machine-readable output: one JSON event per line' })
      .example('$0 sweep configs/k.yaml --grid model.dlp.k=4,8,16 --dry-run', 'list the trials')
      .example('$0 sweep configs/k.yaml --workers 2', 'run them, two at a time')
      .example('$0 sweep configs/k.yaml --executor slurm --partition gpu --gpus 1 --parallel 8', 'submit a job array') as unknown as Argv<SweepArgs>,
  handler: async (argv) => {
    process.exitCode = await sweepCommand(argv);
  },
};
export default cmd;

async function sweepCommand(argv: SweepArgs): Promise<number> {
  const sweep = await import('../../sweep/index.js');
  const rel = sweep.relativePath;
  const { chooseProgressMode, valueText } = await import('../../util/progress.js');
  const request = { spec: argv.spec, grid: argv.grid, set: argv.set, resultsDir: path.resolve(RESULTS_DIR), cacheDir: CACHE_DIR, backend: argv.backend };
  const plan = await sweep.planSweepRequest(request, { fromManifest: argv.summary && argv.set === undefined && argv.grid === undefined });

  if (argv['dry-run']) {
    const rows = await sweep.dryRunRows(plan);
    if (argv.json) for (const r of rows) console.log(JSON.stringify(r));
    else console.log(sweep.formatDryRun(plan, rows));
    return 0;
  }
  if (argv.summary) {
    const outputs = await sweep.writeSweepOutputs(plan);
    printOutputs(outputs, sweep.bestValue(outputs.summary), valueText, rel);
    return 0;
  }

  if ((argv.executor ?? plan.section.executor ?? 'local') === 'slurm') {
    const settings = defined({ partition: argv.partition, account: argv.account, time: argv.time, gpus: argv.gpus, cpus: argv.cpus, mem: argv.mem, parallel: argv.parallel });
    const { views, submitted } = await sweep.submitSweep(plan, { settings, retryFailed: argv['retry-failed'], submit: argv.submit });
    if (!submitted) {
      const failed = views.filter((v) => v.status === 'failed').length;
      console.log(`nothing to submit: ${views.length - failed} trials done${failed ? `, ${failed} failed (--retry-failed)` : ''}`);
      return failed ? 1 : 0;
    }
    const tasks = views.filter((v) => v.status === 'queued').length;
    if (!submitted.jobId) {
      console.log(`wrote ${rel(submitted.script)} (${tasks} tasks) and ${rel(plan.manifestFile)}`);
      console.log(argv.submit === false ? `submit it with: sbatch ${rel(submitted.script)}` : `${submitted.notSubmitted}; on the cluster run: sbatch ${rel(submitted.script)}`);
      return 0;
    }
    if (argv.json) console.log(JSON.stringify({ type: 'submitted', jobId: submitted.jobId, array: submitted.array, script: submitted.script, manifest: plan.manifestFile }));
    else {
      console.log(`submitted job ${submitted.jobId}: ${tasks} trials (--array=${submitted.array}), logs in ${rel(submitted.logDir)}/`);
      console.log(`follow it with: acnn status ${argv.spec}   results afterwards: acnn sweep ${argv.spec} --summary`);
    }
    return 0;
  }

  const { views, stopped, outputs } = await sweep.runSweepLocally(plan, {
    workers: argv.workers,
    retryFailed: argv['retry-failed'],
    failFast: argv['fail-fast'],
    progress: chooseProgressMode({ json: argv.json }),
  });
  const failed = views.filter((v) => v.status === 'failed');
  const unfinished = views.filter((v) => v.status !== 'done' && v.status !== 'failed');
  if (!argv.json) {
    console.error(`summary: ${rel(outputs.csvFile)}`);
    for (const v of failed) console.error(`trial ${v.job.index} (${v.job.runId}) failed: ${v.note ?? 'see its run directory'}`);
    if (stopped && unfinished.length) console.error(`${unfinished.length} trials not finished; run the same command again to continue`);
  }
  return failed.length || unfinished.length ? 1 : 0;
}

function printOutputs(o: import('../../sweep/index.js').SweepOutputs, best: number | undefined, valueText: (v: unknown) => string, rel: (p: string) => string): void {
  const { summary, csvFile, bestFile } = o;
  console.log(`wrote ${rel(csvFile)} (${summary.rows.length} trials, ${summary.rows.filter((r) => r.status === 'done').length} done)`);
  if (!summary.best || !bestFile) return;
  const vals = Object.entries(summary.best.values).map(([k, v]) => `${k}=${valueText(v)}`).join(' ');
  console.log(`best: trial ${summary.best.index} (${summary.best.runId}) ${vals}; ${summary.objective!.metric} = ${best}`);
  console.log(`wrote ${rel(bestFile)}`);
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
