import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { reportError } from './report-error.js';
import { packageVersion } from '../util/package-info.js';

/**
 * The acnn command line. Command modules stay light at import time (heavy modules such as
 * TensorFlow.js are imported inside handlers) so that `acnn --help` starts fast.
 */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('acnn')
    .usage('$0 <command> [options]\n\nDeclarative, reproducible experiments on occlusion-aware facial expression recognition (ACNN, Li et al., IEEE TIP 2019).')
    .option('debug', { type: 'boolean', describe: 'Print stack traces for internal errors', global: true })
    .version(packageVersion())
    .strict()
    .demandCommand(1, 'Name a command (acnn --help lists them).')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      // Usage errors (unknown option, missing argument) are user errors: exit 2, no stack.
      void y;
      console.error(`${msg}\n(run with --help for usage)`);
      exitCode = 2;
      throw new CliUsageError(msg);
    });
  for (const cmd of commands) parser.command(cmd);
  try {
    const code = await parser.parseAsync();
    void code;
    return exitCode || (process.exitCode as number | undefined) || 0;
  } catch (err) {
    if (err instanceof CliUsageError) return 2;
    return reportError(err, debug);
  }
}

class CliUsageError extends Error {}

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
