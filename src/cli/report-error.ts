import { UserError } from '../util/errors.js';

/** Prints an error the way acnn promises: user errors plainly (exit 2), internal ones briefly (exit 1). */
export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof UserError) {
    console.error(err.message);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (debug) console.error(e.stack ?? e.message);
  else console.error(`acnn: internal error: ${e.message}\n(run again with --debug for the stack trace)`);
  return 1;
}
