import os from 'node:os';
import { createRequire } from 'node:module';

/**
 * `--workers auto`: the WebAssembly and plain-JS backends use one core each in Node, so several
 * runs at once use the machine; a native TensorFlow backend already uses every core (and a GPU
 * is shared badly), so it gets one.
 */
export function autoWorkers(backend: string, pending: number): number {
  const single = backend === 'wasm' || backend === 'cpu' || (backend === 'auto' && !nativeBackendInstalled());
  if (!single) return 1;
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, pending, 8));
}

function nativeBackendInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(`${pkg}/package.json`);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}
