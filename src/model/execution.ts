/**
 * Execution plan: how the patch crop and the 24 PG-units run on a given TensorFlow.js backend.
 * Every choice computes the same values and gradients (test/execution.test.ts checks it on each
 * backend that loads); only the kernels issued differ. `auto` picks from EXECUTION_TABLE, which
 * holds the measurements behind each choice; a spec can override either part
 * (`model.execution: {crop, pgUnits}`).
 *
 * Crop implementations (crop.ts):
 * - host:   copies the windows on the host (one download and one upload per direction). Free on
 *           WebAssembly, whose tensors live in host memory; a device sync everywhere else.
 * - ops:    pad + one slice per window + concat (384 slices at batch 16); autodiff.
 * - gather: one gather of a host-computed index list (the zero cell for windows off the map);
 *           its gradient is one UnsortedSegmentSum. No read-back on any backend.
 * PG-units (layers.ts): loop = 24 small graphs with native conv2d; batched = one grouped graph
 * (im2col + BatchMatMul over the 24 stacked kernels): 24x fewer, larger kernel launches.
 */
export type CropImpl = 'host' | 'ops' | 'gather';
export type PgUnitsImpl = 'loop' | 'batched';
export const CROP_IMPLS: readonly CropImpl[] = ['host', 'ops', 'gather'];
export const PG_UNITS_IMPLS: readonly PgUnitsImpl[] = ['loop', 'batched'];

/** What a spec (or a caller) asks for; absent or 'auto' = the table's choice for the backend. */
export interface ExecutionRequest {
  crop?: CropImpl | 'auto';
  pgUnits?: PgUnitsImpl | 'auto';
}

export interface ExecutionPlan {
  crop: CropImpl;
  pgUnits: PgUnitsImpl;
}

/** The plan a run used, as recorded in meta.json. */
export interface ExecutionInfo extends ExecutionPlan {
  /** The tfjs backend the plan was chosen for. */
  backend: string;
  /** Where each part came from: the measured table ('auto') or the spec. */
  source: { crop: 'auto' | 'spec'; pgUnits: 'auto' | 'spec' };
  /** Whether a training step may read tensors back every step (host-memory backends). */
  readsAreFree: boolean;
}

interface TableEntry {
  plan: ExecutionPlan;
  /** Host-memory backends: a read-back is a memcpy, so the runner checks the loss every step. */
  readsAreFree: boolean;
  /**
   * One training step of VGG16 pACNN, width 0.25, batch 16: CPU time per step in ms for each
   * "pgUnits/crop" setting (`npx tsx test/fixtures/model/bench-step.mts <backend>`).
   */
  measured: { setting: string; ms: Record<string, number> }[];
}

/**
 * The measured choices. Backends missing from the table (tensorflow, webgl, ...) get
 * DEVICE_DEFAULT: device memory, so nothing may be read back, and few large kernels.
 */
export const EXECUTION_TABLE: Readonly<Record<string, TableEntry>> = {
  wasm: {
    // Batched since acnn's BatchMatMul runs batched products on XNNPACK and SplitV / Unpack (the
    // gradients of the im2col concat and of the stacked kernels) cut with block copies: before,
    // upstream's scalar batched matmul and whole-tensor copies per piece made batched the slowest
    // (the load-8 row below). Host and gather crops measure the same; host is a memcpy here.
    plan: { crop: 'host', pgUnits: 'batched' },
    readsAreFree: true,
    measured: [
      {
        setting: 'input 112, 2-core AMD EPYC, idle (load 1.0; 2026-12-01, after the batched matmul, SplitV/Unpack and Transpose kernels)',
        ms: { 'batched/gather': 1371, 'batched/host': 1394, 'loop/gather': 1708, 'loop/host': 1771 },
      },
      {
        setting: 'input 64, width 0.125, batch 16 (the quickstart), 2-core AMD EPYC, idle (load 1.3; same day and code)',
        ms: { 'batched/host': 334, 'loop/host': 492 },
      },
      {
        setting: 'input 112, 2-core AMD EPYC, load 8 (2026-12-01)',
        ms: { 'loop/host': 2536, 'loop/gather': 2785, 'loop/ops': 5517, 'batched/host': 7246, 'batched/gather': 6186 },
      },
    ],
  },
  cpu: {
    // The plain JS backend's conv filter gradient reads every element through TensorBuffer.get:
    // batched units (im2col + matmul) avoid it; its segment sum (gather's gradient) is slow too.
    plan: { crop: 'ops', pgUnits: 'batched' },
    readsAreFree: true,
    measured: [
      {
        setting: 'input 32, width 0.125, batch 8, 2-core AMD EPYC, load 8-15 (2026-12-01)',
        ms: { 'batched/ops': 7873, 'batched/gather': 11894, 'loop/ops': 11186, 'loop/gather': 11326, 'loop/host': 12803 },
      },
    ],
  },
  webgpu: {
    plan: { crop: 'gather', pgUnits: 'batched' },
    readsAreFree: false,
    measured: [
      {
        // lavapipe runs the shaders on the CPU, in this process: CPU time is the whole cost. On a
        // hardware GPU, launches and syncs weigh more, which favours batched + gather further.
        setting: 'input 64, Mesa 25.0 lavapipe (Dawn on Vulkan), 2-core AMD EPYC, load 8 (2026-12-01)',
        ms: { 'batched/gather': 11501, 'batched/ops': 14628, 'loop/gather': 15437, 'loop/ops': 20374 },
      },
    ],
  },
};

/** Backends whose tensors cannot be read synchronously in Node (tfjs-backend-webgpu's readSync needs OffscreenCanvas). */
const NO_SYNC_READS = new Set(['webgpu']);

/** Whether `crop` can run on `backend` at all (the host crop reads synchronously). */
export function cropAvailable(backend: string, crop: CropImpl): boolean {
  return crop !== 'host' || !NO_SYNC_READS.has(backend);
}

export const DEVICE_DEFAULT: TableEntry = { plan: { crop: 'gather', pgUnits: 'batched' }, readsAreFree: false, measured: [] };

/** The plan for `backend` (a tfjs backend name), with the request's explicit choices applied. */
export function resolveExecution(backend: string, request: ExecutionRequest = {}): ExecutionInfo {
  const entry = EXECUTION_TABLE[backend] ?? DEVICE_DEFAULT;
  const crop = request.crop && request.crop !== 'auto' ? request.crop : entry.plan.crop;
  const pgUnits = request.pgUnits && request.pgUnits !== 'auto' ? request.pgUnits : entry.plan.pgUnits;
  if (!CROP_IMPLS.includes(crop)) throw new RangeError(`execution.crop must be auto, ${CROP_IMPLS.join(', ')}; got '${crop}'`);
  if (!PG_UNITS_IMPLS.includes(pgUnits)) throw new RangeError(`execution.pgUnits must be auto, ${PG_UNITS_IMPLS.join(', ')}; got '${pgUnits}'`);
  if (!cropAvailable(backend, crop)) throw new RangeError(`execution: crop '${crop}' reads the feature map back synchronously, which the ${backend} backend cannot do in Node; use ops or gather`);
  return {
    crop,
    pgUnits,
    backend,
    source: { crop: request.crop && request.crop !== 'auto' ? 'spec' : 'auto', pgUnits: request.pgUnits && request.pgUnits !== 'auto' ? 'spec' : 'auto' },
    readsAreFree: entry.readsAreFree,
  };
}
