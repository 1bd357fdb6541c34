/**
 * Skips the current test or suite and says why in the output (mocha itself only marks it
 * pending): a skipped suite must never look like a passing one.
 */
export function skipBecause(ctx: Mocha.Context, why: string): never {
  console.log(`      (skipped: ${why})`);
  ctx.skip();
}
