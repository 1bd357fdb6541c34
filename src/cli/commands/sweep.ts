import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

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
  task?: number;
  manifest?: string;
}

const RESULTS_DIR = 'results';

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
      .option('task', { type: 'number', hidden: true, describe: 'Run trial N of the manifest (what a Slurm array task calls)' })
      .option('manifest', { type: 'string', hidden: true, describe: 'The manifest --task reads' })
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
  const resultsDir = path.resolve(RESULTS_DIR);

  if (argv.task !== undefined) {
    const manifest = argv.manifest ?? sweep.manifestPath(resultsDir, (await loadSpecFor(argv)).name);
    return sweep.runTask(
      manifest,
      argv.task,
      (args) => {
        const [file, ...pre] = sweep.acnnCommand();
        return { file, args: [...pre, ...args] };
      },
      (t, m) => sweep.trialRunArgs({ id: t.runId, overrides: t.overrides }, { specFile: m.specFile, sets: m.sets, backend: m.backend }),
    );
  }

  if (argv.summary && argv.set === undefined && argv.grid === undefined) await defaultsFromManifest(sweep, argv, resultsDir);
  const loaded = await loadSpecFor(argv);
  const section = sweep.sweepSection(loaded);
  const trials = await sweep.planSweep(loaded, { grid: argv.grid });
  if (trials.length === 0) throw new UserError(`${loaded.file}: the sweep has no trials (add a sweep: section or --grid key=v1,v2)`);
  const specResults = path.join(resultsDir, loaded.name);
  const sweepDir = path.join(specResults, 'sweep');
  const manifestFile = path.join(sweepDir, 'manifest.json');
  const sets = argv.set ?? [];

  if (argv['dry-run']) {
    const summary = await sweep.summarize(specResults, trials.map((t) => ({ index: t.index, id: t.id, values: t.values })));
    const status = new Map(summary.rows.map((r) => [r.index, r.status]));
    if (argv.json) {
      for (const t of trials) console.log(JSON.stringify({ index: t.index, runId: t.id, values: t.values, overrides: t.overrides, status: status.get(t.index) }));
    } else {
      const keys = sweep.sweptKeys(trials);
      const rows = [['#', 'run', 'status', ...keys], ...trials.map((t) => [String(t.index), t.id, status.get(t.index) ?? '', ...keys.map((k) => show(t.values[k]))])];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
      console.log(`${trials.length} trials of ${loaded.name}; run directories under ${path.relative(process.cwd(), specResults) || '.'}/`);
    }
    return 0;
  }

  const manifest = {
    version: 1 as const,
    spec: loaded.name,
    specFile: path.resolve(loaded.file),
    cwd: process.cwd(),
    resultsDir,
    createdAt: new Date().toISOString(),
    sets,
    grid: argv.grid ?? [],
    backend: argv.backend,
    objective: section.objective,
    sweptKeys: sweep.sweptKeys(trials),
    trials: sweep.manifestTrials(trials),
  };

  if (argv.summary) return writeSummary(sweep, loaded, trials, section.objective, specResults, sweepDir, sets, argv.json);

  const executor = argv.executor ?? section.executor ?? 'local';
  if (executor === 'slurm') {
    const settings = {
      ...(section.slurm ?? {}),
      ...defined({ partition: argv.partition, account: argv.account, time: argv.time, gpus: argv.gpus, cpus: argv.cpus, mem: argv.mem, parallel: argv.parallel }),
    };
    const summary = await sweep.summarize(specResults, trials.map((t) => ({ index: t.index, id: t.id, values: t.values })));
    const remaining = summary.rows
      .filter((r) => r.status !== 'done' && (r.status !== 'failed' || argv['retry-failed']))
      .map((r) => r.index);
    const skippedFailed = summary.rows.filter((r) => r.status === 'failed' && !argv['retry-failed']).length;
    if (remaining.length === 0) {
      await sweep.writeManifest(manifestFile, manifest);
      console.log(`nothing to submit: ${trials.length - skippedFailed} trials done${skippedFailed ? `, ${skippedFailed} failed (--retry-failed)` : ''}`);
      return skippedFailed ? 1 : 0;
    }
    const [node, ...pre] = sweep.acnnCommand();
    const script = sweep.sbatchScript({
      jobName: `acnn-${loaded.name}`,
      array: sweep.arraySpec(remaining, settings.parallel),
      settings,
      logDir: path.join(sweepDir, 'slurm'),
      cwd: process.cwd(),
      command: [node, ...pre, 'sweep', path.resolve(loaded.file), '--task', '$SLURM_ARRAY_TASK_ID', '--manifest', manifestFile],
    });
    const scriptFile = path.join(sweepDir, 'sweep.sbatch');
    await fs.mkdir(path.join(sweepDir, 'slurm'), { recursive: true });
    const slurm: { script: string; array: string; jobId?: string; submittedAt?: string } = { script: scriptFile, array: sweep.arraySpec(remaining, settings.parallel) };
    // The manifest is in place before any task can start and read it.
    await sweep.writeManifest(manifestFile, { ...manifest, slurm });
    const canSubmit = argv.submit !== false && (await hasCommand('sbatch'));
    if (!canSubmit) {
      await fs.writeFile(scriptFile, script, { mode: 0o755 });
      console.log(`wrote ${rel(scriptFile)} (${remaining.length} tasks) and ${rel(manifestFile)}`);
      console.log(argv.submit === false ? `submit it with: sbatch ${rel(scriptFile)}` : `sbatch is not installed here; on the cluster run: sbatch ${rel(scriptFile)}`);
      return 0;
    }
    slurm.jobId = await sweep.submitArray(scriptFile, script);
    slurm.submittedAt = new Date().toISOString();
    await sweep.writeManifest(manifestFile, { ...manifest, slurm });
    if (argv.json) console.log(JSON.stringify({ type: 'submitted', jobId: slurm.jobId, array: slurm.array, script: scriptFile, manifest: manifestFile }));
    else {
      console.log(`submitted job ${slurm.jobId}: ${remaining.length} trials (--array=${slurm.array}), logs in ${rel(path.join(sweepDir, 'slurm'))}/`);
      console.log(`follow it with: acnn status ${argv.spec}   results afterwards: acnn sweep ${argv.spec} --summary`);
    }
    return 0;
  }

  await sweep.writeManifest(manifestFile, manifest);
  const display = argv.json ? new sweep.JsonDisplay() : process.stderr.isTTY ? new sweep.TableDisplay() : new sweep.LineDisplay();
  const [file, ...pre] = sweep.acnnCommand();
  const { views, stopped } = await sweep.runLocal({
    trials,
    specResultsDir: specResults,
    workers: argv.workers ?? section.workers ?? 1,
    retryFailed: argv['retry-failed'],
    failFast: argv['fail-fast'],
    display,
    command: (t) => ({ file, args: [...pre, ...sweep.trialRunArgs(t, { specFile: loaded.file, sets, backend: argv.backend, json: true })] }),
  });
  await writeSummary(sweep, loaded, trials, section.objective, specResults, sweepDir, sets, true);
  const failed = views.filter((v) => v.status === 'failed');
  const unfinished = views.filter((v) => v.status !== 'done' && v.status !== 'failed');
  if (!argv.json) {
    console.error(`summary: ${rel(path.join(sweepDir, 'summary.csv'))}`);
    for (const v of failed) console.error(`trial ${v.trial.index} (${v.trial.id}) failed: ${v.note ?? 'see its run directory'}`);
    if (stopped && unfinished.length) console.error(`${unfinished.length} trials not finished; run the same command again to continue`);
  }
  return failed.length || unfinished.length ? 1 : 0;
}

type SweepModule = typeof import('../../sweep/index.js');

async function writeSummary(
  sweep: SweepModule,
  loaded: { file: string; name: string },
  trials: import('../../sweep/index.js').Trial[],
  objective: import('../../sweep/index.js').SweepObjective | undefined,
  specResults: string,
  sweepDir: string,
  sets: string[],
  quiet?: boolean,
): Promise<number> {
  const summary = await sweep.summarize(specResults, trials.map((t) => ({ index: t.index, id: t.id, values: t.values })), objective);
  const csvFile = path.join(sweepDir, 'summary.csv');
  await sweep.writeSummaryCsv(csvFile, summary);
  let bestFile: string | undefined;
  if (summary.best) {
    const trial = trials.find((t) => t.index === summary.best!.index)!;
    bestFile = path.join(sweepDir, 'best.yaml');
    const obj = summary.objective!;
    const value = summary.best.metrics[obj.metric.replace(/^tests\./, '')];
    const text = sweep.bestSpecText({
      sourceFile: path.resolve(loaded.file),
      sourceText: await fs.readFile(loaded.file, 'utf8'),
      outFile: bestFile,
      trial,
      sets,
      header: `Best trial ${trial.index} (run ${trial.id}) of the ${loaded.name} sweep: ${obj.metric} = ${value} (${obj.mode}).\n\`acnn run ${rel(bestFile)}\` reproduces it (same run id, so its results are reused).`,
    });
    await fs.mkdir(sweepDir, { recursive: true });
    await fs.writeFile(bestFile, text);
  }
  if (!quiet) {
    console.log(`wrote ${rel(csvFile)} (${summary.rows.length} trials, ${summary.rows.filter((r) => r.status === 'done').length} done)`);
    if (summary.best && bestFile) {
      const vals = Object.entries(summary.best.values).map(([k, v]) => `${k}=${show(v)}`).join(' ');
      console.log(`best: trial ${summary.best.index} (${summary.best.runId}) ${vals}; ${summary.objective!.metric} = ${summary.best.metrics[summary.objective!.metric.replace(/^tests\./, '')]}`);
      console.log(`wrote ${rel(bestFile)}`);
    }
  }
  return 0;
}

/**
 * `--summary` alone summarises the sweep that was last run or submitted: its --set and --grid
 * come from the manifest, so the trial ids match those run directories.
 */
async function defaultsFromManifest(sweep: SweepModule, argv: SweepArgs, resultsDir: string): Promise<void> {
  const { loadSpec } = await import('../../spec/index.js');
  const name = (await loadSpec(argv.spec)).name;
  const manifest = await sweep.readManifest(sweep.manifestPath(resultsDir, name));
  if (!manifest || path.resolve(manifest.specFile) !== path.resolve(argv.spec)) return;
  argv.set = manifest.sets.length ? manifest.sets : undefined;
  argv.grid = manifest.grid?.length ? manifest.grid : undefined;
}

async function loadSpecFor(argv: SweepArgs) {
  const { loadSpec } = await import('../../spec/index.js');
  return loadSpec(argv.spec, { set: argv.set });
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function hasCommand(name: string): Promise<boolean> {
  const { commandExists } = await import('../../sweep/slurm.js');
  return commandExists(name);
}

function rel(p: string): string {
  return path.relative(process.cwd(), p) || '.';
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
