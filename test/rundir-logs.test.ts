// metrics.jsonl is the one run file that is appended to, not swapped in whole: a kill can cut
// its last line. Readers skip that line, and a resume rewrites the log before appending again.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunDir } from '../src/rundir/index.js';

describe('rundir: metrics.jsonl after a kill mid-append', () => {
  it('a cut last line is skipped by readers and gone after the resume rewrites the log', async () => {
    const dir = RunDir.for(mkdtempSync(path.join(os.tmpdir(), 'acnn-metrics-')), 'spec', '0123456789');
    await dir.truncateMetrics(0); // a run starting: an empty log
    for (let step = 1; step <= 4; step++) await dir.appendMetrics({ step, loss: 1 / step });
    appendFileSync(dir.metricsFile, '{"step":5,"loss":0.1'); // the kill, mid-line
    assert.deepEqual((await dir.readMetrics()).map((r) => r.step), [1, 2, 3, 4]);

    // Resumed from the checkpoint at step 2: lines after it are dropped, then the run appends again.
    await dir.truncateMetrics(2);
    await dir.appendMetrics({ step: 3, loss: 0.3 });
    const lines = readFileSync(dir.metricsFile, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the log ends with a newline');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { step: number }).step), [1, 2, 3]);
  });
});
