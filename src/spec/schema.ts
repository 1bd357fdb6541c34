import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { isPlainObject, type Seg } from './paths.js';
import { EXPANSION_KEYS } from './keys.js';


export type JsonSchema = Record<string, unknown>;

let cachedSchema: JsonSchema | undefined;
export function specSchema(): JsonSchema {
  if (!cachedSchema) {
    const url = new URL('../../schemas/spec.schema.json', import.meta.url);
    cachedSchema = JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as JsonSchema;
  }
  return cachedSchema;
}

/** The run-config schema: the spec schema without the expansion keys, plus `tags`. */
export function runSchema(): JsonSchema {
  const s = JSON.parse(JSON.stringify(specSchema())) as JsonSchema;
  s.$id = 'https://acnn.dev/schemas/run-config.schema.json';
  s.title = 'RunConfig';
  const props = s.properties as Record<string, unknown>;
  for (const k of EXPANSION_KEYS) delete props[k];
  props.tags = {
    description: 'Labels of the run (from runs[].tags).',
    type: 'object',
    additionalProperties: { type: 'string' },
    default: {},
  };
  return s;
}

let validators: { spec: ValidateFunction; run: ValidateFunction } | undefined;
export function getValidators(): { spec: ValidateFunction; run: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true, verbose: true });
    validators = { spec: ajv.compile(specSchema()), run: ajv.compile(runSchema()) };
  }
  return validators;
}

/** Follows a local $ref ("#/$defs/x") within the root schema. */
export function deref(root: JsonSchema, s: unknown): JsonSchema | undefined {
  let cur = s;
  for (let i = 0; i < 10 && isPlainObject(cur) && typeof cur.$ref === 'string'; i++) {
    const ref = cur.$ref as string;
    const parts = ref.replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const p of parts) target = isPlainObject(target) ? target[p] : undefined;
    // Keep sibling keywords (description, default) of the $ref site.
    const { $ref: _r, ...siblings } = cur;
    void _r;
    cur = isPlainObject(target) ? { ...target, ...siblings } : undefined;
  }
  return isPlainObject(cur) ? cur : undefined;
}

/** The subschema that describes the value at `path`, or undefined when the path leaves the schema. */
export function schemaAt(root: JsonSchema, path: readonly Seg[]): JsonSchema | undefined {
  let cur = deref(root, root);
  for (const seg of path) {
    if (!cur) return undefined;
    cur = childSchema(root, cur, seg);
  }
  return cur;
}

export function childSchema(root: JsonSchema, s: JsonSchema, seg: Seg): JsonSchema | undefined {
  const props = s.properties as Record<string, unknown> | undefined;
  if (props && typeof seg === 'string' && Object.prototype.hasOwnProperty.call(props, seg)) return deref(root, props[seg]);
  if (s.items && (typeof seg === 'number' || /^\d+$/.test(String(seg)))) return deref(root, s.items);
  if (isPlainObject(s.additionalProperties) || s.additionalProperties === true) {
    if (typeof seg === 'number' && !s.properties) return undefined;
    return s.additionalProperties === true ? {} : deref(root, s.additionalProperties);
  }
  return undefined;
}

/** Keys a map schema names explicitly (for did-you-mean). */
export function knownKeys(s: JsonSchema | undefined): string[] {
  return s && isPlainObject(s.properties) ? Object.keys(s.properties) : [];
}

export function isOpenMap(s: JsonSchema | undefined): boolean {
  return !!s && (s.additionalProperties === true || isPlainObject(s.additionalProperties) || (s.additionalProperties === undefined && !s.properties && !s.items && s.type === undefined));
}

export function schemaTypes(s: JsonSchema | undefined): string[] {
  if (!s) return [];
  if (Array.isArray(s.enum)) return [...new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)))];
  const t = s.type;
  return Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
}
