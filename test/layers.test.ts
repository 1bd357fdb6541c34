// The folders of src/ form layers (docs/design.md): imports go one way, so no two folders import
// each other, directly or around a loop; report/ reads run directories and never the runner.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level folder of src/ a file is in ('' for a file directly in src/). */
function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '';
}

/** folder -> folders it imports (static imports, re-exports and dynamic import() alike). */
export function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (!target.startsWith(SRC + path.sep)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${path.relative(SRC, file)} imports ${m[1]}`);
    }
  }
  return graph;
}

/** A cycle of folders (its first folder repeated at the end), or undefined. */
function findCycle(graph: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n)?.keys() ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('layers: imports between the folders of src/', () => {
  const graph = folderGraph();

  it('the checker sees the imports (cli imports spec, train imports model)', () => {
    assert.ok(graph.get('cli')?.has('spec'));
    assert.ok(graph.get('train')?.has('model'));
  });

  it('no folder imports another that imports it back (no cycle)', () => {
    const cycle = findCycle(graph);
    const why = cycle && cycle.slice(1).map((to, i) => graph.get(cycle[i])!.get(to)).join('; ');
    assert.equal(cycle, undefined, `cycle ${cycle?.join(' -> ')}: ${why}`);
  });

  it('report reads run directories, never the runner; model and data know nothing of specs or runs', () => {
    assert.ok(!graph.get('report')?.has('train'), graph.get('report')?.get('train'));
    for (const low of ['model', 'data', 'engine', 'util']) {
      for (const high of ['spec', 'rundir', 'train', 'report', 'launch', 'sweep', 'cli']) {
        assert.ok(!graph.get(low)?.has(high), graph.get(low)?.get(high));
      }
    }
  });
});
