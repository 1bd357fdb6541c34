/**
 * `acnn weights get|import|list` through the real CLI, against a real HTTP server on 127.0.0.1
 * that serves checkpoints made by torch (test/fixtures/weights), honours Range requests and can
 * cut a connection mid-file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';

const FIX = path.join('test', 'fixtures', 'weights');
const small = readFileSync(path.join(FIX, 'resnet18-w16.pth'));
const hostile = readFileSync(path.join(FIX, 'hostile.pth'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Served {
  body: Buffer;
  /** Requests to cut after this many body bytes (consumed one per request). */
  cutAfter?: number[];
}

describe('weights: get / import / list (CLI, local HTTP server)', function () {
  this.timeout(120_000);
  let server: http.Server;
  let base: string;
  const files = new Map<string, Served>();
  const ranges: Record<string, (string | undefined)[]> = {};
  let home: string;

  before(async () => {
    server = http.createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').slice(1));
      const f = files.get(name);
      (ranges[name] ??= []).push(req.headers.range);
      if (!f) {
        res.writeHead(404).end();
        return;
      }
      const m = req.headers.range?.match(/^bytes=(\d+)-$/);
      const start = m ? Number(m[1]) : 0;
      const body = f.body.subarray(start);
      res.writeHead(m ? 206 : 200, { 'Content-Length': body.length, ...(m ? { 'Content-Range': `bytes ${start}-${f.body.length - 1}/${f.body.length}` } : {}) });
      const cut = f.cutAfter?.shift();
      if (cut === undefined) {
        res.end(body);
        return;
      }
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'acnn-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const cli = (args: string[]) => runCli(args, { env: { ACNN_HOME: home, ACNN_WEIGHTS_BASE_URL: base } });
  const installed = () => (existsSync(path.join(home, 'weights')) ? readdirSync(path.join(home, 'weights')) : []);

  it('downloads a file named <name>-<sha256 prefix>.pth, checks it and lists it', async () => {
    const name = `r18small-${sha(small).slice(0, 8)}.pth`;
    files.set(name, { body: small });
    const r = await cli(['weights', 'get', `${base}/${name}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`installed: .*${name} \\(sha256 ${sha(small)}\\)`));
    assert.deepEqual(installed(), [name]);
    const list = await cli(['weights', 'list', '--json']);
    const parsed = JSON.parse(list.stdout) as { weights: { file: string; bytes: number; sha256: string; verified: boolean }[] };
    assert.deepEqual(parsed.weights.map((w) => [w.file, w.bytes, w.sha256, w.verified]), [[name, small.length, sha(small), true]]);
    const again = await cli(['weights', 'get', `${base}/${name}`]);
    assert.match(again.stdout, /already installed/);
  });

  it('resumes a broken download with a Range request, within one get and across two', async () => {
    const name = `resume-${sha(small).slice(0, 8)}.pth`;
    files.set(name, { body: small, cutAfter: [70_000] });
    ranges[name] = [];
    const r = await cli(['weights', 'get', `${base}/${name}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /connection broke .*resuming/);
    assert.equal(ranges[name].length, 2);
    assert.equal(ranges[name][0], undefined);
    const resumedAt = Number(ranges[name][1]?.match(/^bytes=(\d+)-$/)?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 70_000, `resumed at ${resumedAt}`);
    assert.equal(sha(readFileSync(path.join(home, 'weights', name))), sha(small));

    // No retries: the first get stops with the part kept (never listed), the second resumes it.
    const name2 = `resume2-${sha(small).slice(0, 8)}.pth`;
    files.set(name2, { body: small, cutAfter: [50_000] });
    const first = await cli(['weights', 'get', `${base}/${name2}`, '--retries', '0']);
    assert.equal(first.code, 1, first.stderr);
    const kept = Number(first.stderr.match(/broke off: .* (\d+) bytes are kept in .*\.part; run the same command again to resume/)?.[1]);
    assert.ok(kept > 0 && kept <= 50_000, first.stderr);
    const list = JSON.parse((await cli(['weights', 'list', '--json'])).stdout) as { weights: { file: string }[] };
    assert.deepEqual(list.weights.map((w) => w.file), [name], 'the partial file is not listed');
    const second = await cli(['weights', 'get', `${base}/${name2}`]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(ranges[name2].at(-1), `bytes=${kept}-`);
    assert.equal(sha(readFileSync(path.join(home, 'weights', name2))), sha(small));
  });

  it('rejects a wrong checksum (ACNN_WEIGHTS_BASE_URL serving resnet18) and installs nothing', async () => {
    files.set('resnet18-f37072fd.pth', { body: small });
    const r = await cli(['weights', 'get', 'resnet18']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`resnet18-f37072fd\\.pth: sha256 ${sha(small)} does not start with f37072fd.*nothing was installed`));
    assert.deepEqual(installed(), [], 'neither the file nor its .part is left');
  });

  it('refuses a hostile pickle from the server and from import: exit 2, nothing installed, nothing run', async () => {
    rmSync('/tmp/acnn-hostile-pickle-ran', { force: true });
    const name = `evil-${sha(hostile).slice(0, 8)}.pth`;
    files.set(name, { body: hostile });
    const r = await cli(['weights', 'get', `${base}/${name}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /refused: the checkpoint's pickle asks for the global 'posix\.system'.*\nNothing was installed/);
    const imp = await cli(['weights', 'import', path.join(FIX, 'hostile.pth')]);
    assert.equal(imp.code, 2, imp.stderr);
    assert.match(imp.stderr, /hostile\.pth: refused: .*'posix\.system'/);
    assert.deepEqual(installed(), []);
    assert.equal(existsSync('/tmp/acnn-hostile-pickle-ran'), false);
  });

  it('imports a copy: named after its backbone so pretrained: imagenet finds it; other files need --name', async () => {
    const imp = await cli(['weights', 'import', path.join(FIX, 'vgg16_bn-w32-legacy.pth')]);
    assert.equal(imp.code, 0, imp.stderr);
    const legacy = readFileSync(path.join(FIX, 'vgg16_bn-w32-legacy.pth'));
    assert.deepEqual(installed(), [`vgg16_bn-${sha(legacy).slice(0, 8)}.pth`]);
    const list = JSON.parse((await cli(['weights', 'list', '--json'])).stdout) as { weights: { imagenetFor?: string; bytes: number }[] };
    assert.equal(list.weights[0].imagenetFor, 'vgg16');
    assert.equal(list.weights[0].bytes, legacy.length);

    const odd = path.join(home, 'odd.safetensors');
    const header = JSON.stringify({ 'foo.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const buf = Buffer.alloc(8 + header.length + 4);
    buf.writeBigUInt64LE(BigInt(header.length));
    buf.write(header, 8);
    writeFileSync(odd, buf);
    const refused = await cli(['weights', 'import', odd]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /holds neither vgg16_bn nor resnet18 tensors.*--name/);
    const named = await cli(['weights', 'import', odd, '--name', 'mine']);
    assert.equal(named.code, 0, named.stderr);
    assert.ok(installed().includes(`mine-${sha(buf).slice(0, 8)}.safetensors`));
  });
});
