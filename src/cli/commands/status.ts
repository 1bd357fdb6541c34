import type { CommandModule } from 'yargs';

interface Args {
  spec: string;
  set?: string[];
  results: string;
  json?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'status <spec>',
  describe: "Each run's state and progress, read from the run directories",
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: "Plan the runs anew with these overrides instead of reading the last run's plan.json" })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('json', { type: 'boolean', describe: 'Machine-readable output' }),
  handler: async (args) => {
    const { loadSpec } = await import('../../spec/index.js');
    const { runStatuses, formatStatusTable } = await import('../../report/status.js');
    const { reportRuns } = await import('../../report/build.js');
    const { sweepState } = await import('../../sweep/index.js');
    const loaded = await loadSpec(args.spec, { set: args.set });
    const { runs } = await reportRuns(loaded, args.results, { replan: args.set !== undefined });
    const rows = await runStatuses(args.results, loaded.name, runs);
    // A sweep's trials (local or Slurm) are runs too; its manifest and squeue say which.
    const sweep = await sweepState(args.results, loaded.name);
    if (args.json) {
      console.log(JSON.stringify({ spec: loaded.name, runs: rows, sweep }, null, 2));
      return;
    }
    console.log(formatStatusTable(rows));
    if (sweep) {
      console.log(`\nsweep (${sweep.trials.length} trials${sweep.jobId ? `, Slurm job ${sweep.jobId}${sweep.squeue ? '' : ', squeue unavailable'}` : ''}):`);
      for (const t of sweep.trials) {
        const values = Object.entries(t.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
        const progress = t.totalSteps ? `${t.step}/${t.totalSteps}` : '-';
        console.log(`${String(t.index).padStart(3)}  ${t.runId}  ${t.status.padEnd(11)} ${progress.padEnd(11)} ${values}${t.error ? `  error: ${t.error}` : ''}`);
      }
      console.log(Object.entries(sweep.counts).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(', '));
    }
  },
};
export default cmd;
