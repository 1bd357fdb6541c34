import cliProgress from 'cli-progress';

/** How a long command reports: bars on a terminal, plain lines in a log, JSON events for scripts, or failures only. */
export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

export function chooseProgressMode(opts: { json?: boolean; quiet?: boolean }, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  return stream.isTTY ? 'bars' : 'lines';
}

/**
 * The one way acnn draws progress on a terminal: cli-progress bars on stderr, in one format.
 * The runner (one bar for the spec, one for the current run), the launchers (one bar a running
 * job) and `acnn data check` (one bar a split) all draw through here.
 */
export function multiBar(stream: NodeJS.WriteStream = process.stderr): cliProgress.MultiBar {
  return new cliProgress.MultiBar(
    {
      clearOnComplete: false,
      hideCursor: true,
      format: '{label} |{bar}| {value}/{total} {info}',
      barsize: 28,
      stream,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** Bars by name, made on first update: `acnn data check` draws one for each split it decodes. */
export function namedBars(stream: NodeJS.WriteStream = process.stderr): { update(name: string, done: number, total: number): void; stop(): void } {
  const multi = multiBar(stream);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(name, done, total) {
      let bar = bars.get(name);
      if (!bar) bars.set(name, (bar = multi.create(total, 0, { label: name, info: '' })));
      bar.update(done);
    },
    stop: () => stopBars(multi),
  };
}

/** Stops the bars after drawing them once more, so lines logged since the last redraw are not lost. */
export function stopBars(multi: cliProgress.MultiBar): void {
  multi.update();
  multi.stop();
}

/** Seconds as "4m05s" or "1h02m"; empty for an unknown or negative time. */
export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '';
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Short text of a value in tables, labels and CSV cells: strings as they are, numbers to 6 digits, the rest as JSON. */
export function valueText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}
