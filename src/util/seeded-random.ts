import { Rng } from './rng.js';

/**
 * Runs `fn` with Math.random replaced by a seeded generator. TF.js draws the seed of an unseeded
 * random op (dropout's mask) from Math.random; seeding it per step makes a resumed run repeat
 * the exact masks of an uninterrupted one.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  const rng = new Rng(seed);
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
