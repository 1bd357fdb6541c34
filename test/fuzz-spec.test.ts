// A seeded fuzzer over the shipped configs: keys, types, YAML syntax, anchors, tags, huge
// numbers, unicode. Whatever the mutation, acnn answers with a spec (exit 0) or a located
// SpecError (exit 2), never a stack trace, and quickly. Most cases run in-process; a sample
// goes through the real CLI.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node as YNode } from 'yaml';
import { loadSpec, expandRuns, expandSweep, SpecError } from '../src/spec/index.js';
import { Rng } from '../src/util/rng.js';
import { runCli, repoRoot } from './helpers/cli.js';

const SEED = 12;
const CASES = 400;
const CLI_CASES = 6;
/** Per case, in-process: a hang detector (the alias bomb took minutes), not a benchmark. */
const CASE_LIMIT_MS = 3000;

const configsDir = path.join(repoRoot, 'configs');
const configs = readdirSync(configsDir).filter((f) => f.endsWith('.yaml')).sort();

const ODD_TEXT = [':', '{', '}', '[', ']', ',', '&a', '*a', '!', '!!binary ', '|', '>', "'", '"', '#', '%', '@', '`', '\t', '- ', '? ', '<<: ', '${', '$${', '${env:', '\\', 'é', '\u202e', '\u{1F600}', '\u0000', '\r', '\n  ', '\ufeff'];
const ODD_VALUES: unknown[] = [
  1e308, -1e308, 2 ** 53 + 1, -1, 0, 0.5, 1e-320, 1.2345678901234568e29, '1e999', '.inf', '-.nan', '', ' ', 'x'.repeat(5000),
  'né\u0301', '\u{1F600}\u200b', '../../../etc/passwd', '/dev/zero', '${env:HOME}', '${nope.key}', '${train}', '${model.variant}', 'null', 'true',
  null, true, false, [], {}, [1, [2, [3]]], { a: { b: { c: 1 } } }, ['base', 'pcnn', 'gacnn'],
];
const ODD_KEYS = ['', ' ', 'extends', 'name', '<<', '__proto__', 'constructor', 'prototype', 'tags', 'variänt', 'train.lr', 'a'.repeat(300), '${x}', '0', '-1'];
const TAGS = ['!replace', '!append', '!!str', '!!int', '!!float', '!!map', '!!seq', '!!binary', '!!set', '!!omap', '!!timestamp', '!custom', '!!python/object:os.system', '!<tag:example.com,2000:x>'];

/** Every node of a parsed document with its parent collection and key/index. */
function nodesOf(doc: Document): { node: YNode; parent?: YNode; key?: unknown }[] {
  const out: { node: YNode; parent?: YNode; key?: unknown }[] = [];
  const walk = (node: YNode, parent?: YNode, key?: unknown) => {
    out.push({ node, parent, key });
    if (isMap(node)) {
      for (const p of node.items) if (p.value) walk(p.value as YNode, node, (p.key as { value?: unknown })?.value);
    }
    else if (isSeq(node)) node.items.forEach((it, i) => walk(it as YNode, node, i));
  };
  if (doc.contents) walk(doc.contents as YNode);
  return out;
}

/** One mutation of a config's text; `what` says which, for a failure message. */
function mutate(text: string, rng: Rng): { text: string; what: string } {
  const lines = text.split('\n');
  const pick = <T>(xs: readonly T[]) => xs[rng.int(0, xs.length - 1)];
  const kind = rng.int(0, 12);
  switch (kind) {
    case 0: {
      const i = rng.int(0, lines.length - 1);
      lines.splice(i, 1);
      return { text: lines.join('\n'), what: `delete line ${i + 1}` };
    }
    case 1: {
      const i = rng.int(0, lines.length - 1);
      lines.splice(i, 0, lines[i]);
      return { text: lines.join('\n'), what: `duplicate line ${i + 1}` };
    }
    case 2: {
      const at = rng.int(0, text.length);
      const ins = pick(ODD_TEXT);
      return { text: text.slice(0, at) + ins + text.slice(at), what: `insert ${JSON.stringify(ins)} at ${at}` };
    }
    case 3: {
      const at = rng.int(0, text.length);
      return { text: text.slice(0, at), what: `truncate at ${at}` };
    }
    case 4: {
      const i = rng.int(0, lines.length - 1);
      lines[i] = rng.next() < 0.5 ? `  ${lines[i]}` : lines[i].replace(/^ {1,2}/, '');
      return { text: lines.join('\n'), what: `reindent line ${i + 1}` };
    }
    default:
      return mutateTree(text, rng, kind);
  }
}

/** A tree mutation the yaml package cannot write back (an alias inside its own anchor) is skipped. */
function mutateTree(text: string, rng: Rng, kind: number): { text: string; what: string } {
  try {
    return treeMutation(text, rng, kind);
  } catch {
    return { text, what: 'nothing (not writable as YAML)' };
  }
}

function treeMutation(text: string, rng: Rng, kind: number): { text: string; what: string } {
  const doc = parseDocument(text);
  const nodes = nodesOf(doc);
  const pick = <T>(xs: readonly T[]) => xs[rng.int(0, xs.length - 1)];
  const target = pick(nodes);
  const where = `${String(target.key)} (line ~${text.slice(0, target.node.range?.[0] ?? 0).split('\n').length})`;
  const set = (value: unknown) => {
    const parent = target.parent;
    if (isMap(parent)) parent.set(target.key, doc.createNode(value));
    else if (isSeq(parent)) parent.set(target.key as number, doc.createNode(value));
  };
  switch (kind) {
    case 5: {
      const v = pick(ODD_VALUES);
      set(v);
      return { text: doc.toString(), what: `value of ${where} = ${JSON.stringify(v)?.slice(0, 40)}` };
    }
    case 6: {
      if (isMap(target.parent)) {
        const k = pick(ODD_KEYS);
        const v = target.parent.get(target.key, true);
        target.parent.delete(target.key);
        target.parent.set(doc.createNode(k), v);
        return { text: doc.toString(), what: `rename ${where} to ${JSON.stringify(k).slice(0, 40)}` };
      }
      return { text, what: 'nothing (no map)' };
    }
    case 7: {
      if (isMap(target.parent)) target.parent.delete(target.key);
      else if (isSeq(target.parent)) target.parent.delete(target.key as number);
      return { text: doc.toString(), what: `delete ${where}` };
    }
    case 8: {
      const tag = pick(TAGS);
      (target.node as { tag?: string }).tag = tag;
      return { text: doc.toString(), what: `tag ${where} ${tag}` };
    }
    case 9: {
      // Anchor one node and alias it from another place (possibly inside itself).
      const other = pick(nodes);
      target.node.anchor = 'fz';
      if (isMap(other.parent)) other.parent.set(other.key, doc.createAlias(target.node as Parameters<typeof doc.createAlias>[0], 'fz'));
      return { text: doc.toString(), what: `alias ${String(other.key)} -> ${where}` };
    }
    case 10: {
      let deep: unknown = 1;
      const depth = rng.int(50, 400);
      for (let i = 0; i < depth; i++) deep = rng.next() < 0.5 ? [deep] : { k: deep };
      set(deep);
      return { text: doc.toString(), what: `nest ${depth} deep at ${where}` };
    }
    case 11: {
      // A small alias bomb grafted onto the config.
      const levels = rng.int(3, 9);
      const bomb = ['b0: &b0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: levels }, (_, i) => `b${i + 1}: &b${i + 1} [${Array(10).fill(`*b${i}`).join(', ')}]`)];
      return { text: `${text}\n${bomb.join('\n')}\n`, what: `alias bomb, ${levels} levels` };
    }
    default: {
      if (isScalar(target.node) && typeof target.node.value === 'number') {
        const v = pick([1e308, -1e308, 2 ** 31, -(2 ** 31), 1e9, Number.MAX_SAFE_INTEGER]);
        set(v);
        return { text: doc.toString(), what: `huge number at ${where}: ${v}` };
      }
      set([target.node.toJSON?.() ?? null, pick(ODD_VALUES)]);
      return { text: doc.toString(), what: `list at ${where}` };
    }
  }
}

/** Loads, expands and (when it has one) sweeps a spec; returns 'ok' or 'spec error', fails on anything else. */
async function exercise(file: string): Promise<'ok' | 'spec error'> {
  try {
    const loaded = await loadSpec(file, { env: { HOME: '/home/fuzz' } });
    expandRuns(loaded);
    if ((loaded.spec as { sweep?: unknown }).sweep) expandSweep(loaded);
    return 'ok';
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    assert.equal(err.exitCode, 2);
    assert.ok(err.problems.length > 0 && err.message.trim().length > 0, 'a spec error names its problems');
    return 'spec error';
  }
}

describe(`config fuzzer (seed ${SEED}, ${CASES} cases in-process, ${CLI_CASES} through the CLI)`, function () {
  this.timeout(600_000);
  // The configs' directory is copied so that extends and model.init references resolve.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-fuzz-'));
  cpSync(configsDir, path.join(dir, 'configs'), { recursive: true });
  const cases: { file: string; what: string }[] = [];
  const rng = new Rng(SEED);
  for (let i = 0; i < CASES; i++) {
    const base = configs[i % configs.length];
    let text = readFileSync(path.join(configsDir, base), 'utf8');
    const what: string[] = [];
    // One to three mutations on top of each other.
    for (let m = rng.int(1, 3); m > 0; m--) {
      const r = mutate(text, rng);
      text = r.text;
      what.push(r.what);
    }
    const file = path.join(dir, 'configs', `case-${i}-${base}`);
    writeFileSync(file, text);
    cases.push({ file, what: `${base}: ${what.join('; ')}` });
  }

  it('in-process: every case is a spec or a located SpecError, each within the time limit', async () => {
    const outcome = { ok: 0, 'spec error': 0 };
    let slowest = { ms: 0, what: '' };
    const prev = process.cwd();
    process.chdir(dir); // model.init names configs/table3.yaml relative to the working directory
    try {
      for (const c of cases) {
        const t0 = performance.now();
        let r: 'ok' | 'spec error';
        try {
          r = await exercise(c.file);
        } catch (err) {
          assert.fail(`${path.basename(c.file)} (${c.what}): not a SpecError: ${(err as Error).stack}`);
        }
        const ms = performance.now() - t0;
        assert.ok(ms < CASE_LIMIT_MS, `${path.basename(c.file)} (${c.what}) took ${ms.toFixed(0)} ms`);
        if (ms > slowest.ms) slowest = { ms, what: c.what };
        outcome[r]++;
      }
    } finally {
      process.chdir(prev);
    }
    console.log(`      ${outcome.ok} valid, ${outcome['spec error']} refused; slowest ${slowest.ms.toFixed(0)} ms (${slowest.what})`);
    // The fuzzer must reach both sides: mutations that still validate, and ones that do not.
    assert.ok(outcome.ok > CASES / 20 && outcome['spec error'] > CASES / 4, JSON.stringify(outcome));
  });

  it('through the CLI: acnn validate and plan exit 0 or 2, never with a stack trace', async () => {
    const sample = new Rng(SEED + 1);
    for (let i = 0; i < CLI_CASES; i++) {
      const c = cases[sample.int(0, cases.length - 1)];
      const cmd = i % 2 ? ['plan', c.file, '--json'] : ['validate', c.file];
      const res = await runCli(cmd, { timeoutMs: 60_000 });
      assert.ok(res.code === 0 || res.code === 2, `${cmd.join(' ')} (${c.what}): exit ${res.code}\n${res.stderr}`);
      assert.doesNotMatch(res.stderr, /\n\s+at |internal error/, `${c.what}: ${res.stderr}`);
      if (res.code === 2) assert.match(res.stderr, new RegExp(path.basename(c.file).replace(/\./g, '\\.')));
    }
  });
});
