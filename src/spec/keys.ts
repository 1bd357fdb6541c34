/** Keys of a spec that expand it into several runs (a one-run spec has none of them). */
export const AXIS_KEYS = ['seeds', 'matrix', 'zip', 'runs', 'sweep'] as const;

/** Keys of a spec that shape its expansion or its presentation; a run's config has none of them. */
export const EXPANSION_KEYS = ['name', 'description', 'extends', ...AXIS_KEYS, 'table'] as const;

export type ExpansionKey = (typeof EXPANSION_KEYS)[number];
