/**
 * The spec language: YAML loading with extends / ${env:..} / ${key} references / --set,
 * JSON-Schema validation with located, readable errors, expansion into runs, run ids, sweeps.
 * Reference: docs/spec.md; the schema (schemas/spec.schema.json) is the source of truth.
 */
export { loadSpec } from './load.js';
export { expandRuns, expandSweep, runId } from './expand.js';
export { SpecError } from './errors.js';
export type { Problem, Pos } from './errors.js';
export type * from './types.js';
export { runLabel } from './label.js';
export { AXIS_KEYS, EXPANSION_KEYS } from './keys.js';
