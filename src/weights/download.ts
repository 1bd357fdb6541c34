/**
 * Downloads into a `.part` file that survives a broken connection: the next attempt asks the
 * server for the rest (HTTP Range) and appends. A server that ignores Range (200) restarts the
 * file; 416 on a non-empty part means the part is already whole.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { UserError } from '../util/errors.js';

export interface DownloadProgress {
  /** Bytes in the part file now. */
  received: number;
  /** Full size when the server told it. */
  total?: number;
}

export interface DownloadOptions {
  /** Attempts after the first one, each resuming where the previous stopped (default 3). */
  retries?: number;
  onStart?: (p: DownloadProgress & { resumedFrom: number }) => void;
  onProgress?: (p: DownloadProgress) => void;
  /** Called before a retry with the error that broke the previous attempt. */
  onRetry?: (err: Error, attempt: number) => void;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

function request(url: string, headers: Record<string, string>, redirects = 5): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { headers }, (res) => {
      const loc = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && loc) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`too many redirects at ${url}`));
        resolve(request(new URL(loc, url).toString(), headers, redirects - 1));
        return;
      }
      resolve(res);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`no data from ${url} for 60 s`)));
  });
}

/** One attempt: appends what the server sends to `part`; resolves when the body ended complete. */
async function attempt(url: string, part: string, opts: DownloadOptions): Promise<void> {
  const have = await sizeOf(part);
  const res = await request(url, have > 0 ? { Range: `bytes=${have}-` } : {});
  const status = res.statusCode ?? 0;
  if (status === 416 && have > 0) {
    res.resume();
    return;
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new UserError(`download of ${url} failed: HTTP ${status}${status === 404 ? ' (no such file on the server)' : ''}`, status === 404 ? 2 : 1);
  }
  const append = status === 206;
  const start = append ? have : 0;
  const length = Number(res.headers['content-length']);
  const total = Number.isFinite(length) ? start + length : undefined;
  opts.onStart?.({ received: start, total, resumedFrom: start });
  const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
  let received = start;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      out.end(() => reject(err));
    };
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      opts.onProgress?.({ received, total });
    });
    res.on('aborted', () => fail(new Error(`connection closed after ${received} of ${total ?? '?'} bytes`)));
    res.on('error', fail);
    out.on('error', fail);
    res.on('end', () => {
      if (failed) return;
      if (total !== undefined && received < total) return fail(new Error(`connection closed after ${received} of ${total} bytes`));
      out.end(() => resolve());
    });
    res.pipe(out, { end: false });
  });
}

/** Downloads `url` into `part`, resuming across broken connections; the part is left for a later resume on failure. */
export async function downloadToPart(url: string, part: string, opts: DownloadOptions = {}): Promise<void> {
  const retries = opts.retries ?? 3;
  for (let i = 0; ; i++) {
    try {
      await attempt(url, part, opts);
      return;
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (i >= retries) {
        throw new UserError(
          `download of ${url} broke off: ${(err as Error).message}. ${await sizeOf(part)} bytes are kept in ${part}; run the same command again to resume.`,
          1,
        );
      }
      opts.onRetry?.(err as Error, i + 1);
    }
  }
}
