import type { CommandModule } from 'yargs';

interface Args {
  spec: string;
  set?: string[];
  results: string;
  out?: string;
}

const cmd: CommandModule<object, Args> = {
  command: 'report <spec>',
  describe: "Write REPORT.md and its figures from a spec's finished run directories (no training)",
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Report the runs these overrides plan instead of those of the last acnn run (plan.json)' })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('out', { type: 'string', describe: 'Folder for REPORT.md and figures/ (default: results/<spec name>)' })
      .example('$0 report configs/quickstart.yaml', 'results/quickstart/REPORT.md and results/quickstart/figures/*.png'),
  handler: async (args) => {
    const { loadSpec } = await import('../../spec/index.js');
    const { writeReport } = await import('../../report/write-report.js');
    const loaded = await loadSpec(args.spec, { set: args.set });
    const r = await writeReport(loaded, { resultsDir: args.results, outDir: args.out, replan: !!args.set?.length });
    console.log(r.file);
    for (const f of r.figures) console.log(f);
    console.error(`report of ${r.finished} finished run(s) of ${r.planned}: ${r.file}`);
  },
};
export default cmd;
