#!/usr/bin/env node
// Generates src/spec/types.generated.ts from schemas/spec.schema.json (npm run gen:types).
// The types describe a *resolved* spec: every key that has a `default` in the schema is
// required in the type, because loadSpec applies the defaults before anyone reads the spec.
// test/spec-types.test.ts regenerates in memory and fails when the committed file drifts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
export const schemaPath = `${root}schemas/spec.schema.json`;
export const outputPath = `${root}src/spec/types.generated.ts`;

/** Adds every property with a default to its object's `required` list (deeply). */
function requireDefaulted(node) {
  if (Array.isArray(node)) return node.map(requireDefaulted);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    // `default` values are data, not schemas; keep them as they are.
    out[k] = k === 'default' || k === 'const' || k === 'enum' ? v : requireDefaulted(v);
  }
  if (out.properties && typeof out.properties === 'object') {
    const req = new Set(out.required ?? []);
    for (const [k, v] of Object.entries(out.properties)) if (v && typeof v === 'object' && 'default' in v) req.add(k);
    if (req.size) out.required = [...req];
  }
  return out;
}

export async function generateSpecTypes() {
  const schema = requireDefaulted(JSON.parse(readFileSync(schemaPath, 'utf8')));
  delete schema.$id;
  const ts = await compile(schema, 'Spec', {
    bannerComment:
      '/* Generated from schemas/spec.schema.json by scripts/gen-spec-types.mjs (npm run gen:types). Do not edit. */\n' +
      '/* Keys with a schema default are required here: loadSpec applies the defaults. */',
    additionalProperties: false,
    unknownAny: true,
    strictIndexSignatures: false,
    format: true,
    style: { singleQuote: true, printWidth: 110 },
  });
  return ts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ts = await generateSpecTypes();
  writeFileSync(outputPath, ts);
  console.log(`wrote ${outputPath}`);
}
