import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root (the folder holding package.json), from src/ or dist/ alike. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: { version: string; dependencies: Record<string, string> } | undefined;
function pkg() {
  cached ??= JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'));
  return cached!;
}
export function packageVersion(): string {
  return pkg().version;
}
