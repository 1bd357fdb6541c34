export * from './types.js';
export { buildModel, Model, DEFAULT_DLP, localityPreservingLoss, IMAGENET_MEAN, IMAGENET_STD } from './build.js';
export { describeModel, BACKBONES, VARIANTS, NUM_PATCHES, torchvisionSource, type Description, type LayerRow, type ParamSpec } from './arch.js';
export { regionPoints, roundHalfAway, NUM_REGIONS } from './regions.js';
export { cropPatches, cropCorners } from './crop.js';
export { resolveExecution, EXECUTION_TABLE, type CropImpl, type PgUnitsImpl, type ExecutionRequest, type ExecutionInfo, type ExecutionPlan } from './execution.js';
export { saveCheckpoint, loadCheckpoint, readCheckpointOptions, CheckpointError, type NamedTensor, type LoadedCheckpoint, type SaveOptions, type TensorMapLike } from './checkpoint.js';
export { loadPretrained, type PretrainedResult } from './pretrained.js';
export { readSafetensors, parseSafetensors, encodeSafetensors, SafetensorsError, type SafeTensor } from './safetensors.js';
