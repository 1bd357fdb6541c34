/**
 * Ctrl-C (SIGINT) and SIGTERM while training: the first asks the current run to finish its
 * step, checkpoint and stop; a second quits at once, but not one that arrives with the first:
 * a terminal's Ctrl-C reaches a worker directly and again through its parent launcher.
 */
export function stopOnSignals(): { requested(): boolean; dispose(): void } {
  let stopRequested = false;
  let firstSignalAt = 0;
  const onSignal = () => {
    if (stopRequested && Date.now() - firstSignalAt > 2000) process.exit(130);
    if (stopRequested) return;
    firstSignalAt = Date.now();
    stopRequested = true;
    process.stderr.write('\nacnn: stopping after this step (checkpointing); Ctrl-C again to quit at once\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => stopRequested,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
