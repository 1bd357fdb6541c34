/**
 * The YAML of a real pACNN spec small enough to train in seconds: 48 synthetic training faces
 * at 32 px, 1/8 width, 8 updates, a checkpoint every 2 and a loss row every update.
 */
export function tinyPacnnYaml(backbone: 'vgg16' | 'resnet18' = 'vgg16'): string {
  return `name: tiny
datasets:
  synthetic: {format: synthetic, train: 48, test: 24, seed: 3, imageSize: 32}
model: {backbone: ${backbone}, variant: pacnn, inputSize: 32, width: 0.125}
train:
  data: [{dataset: synthetic, split: train}]
  occlusion: {ratio: 0.5, protocol: random-square}
  lr: 0.01
  batchSize: 8
  iterations: 8
  logEvery: 1
  checkpointEvery: 2
test:
  clean: {dataset: synthetic, split: test}
  occluded: {dataset: synthetic, split: test, occlusion: {protocol: random-square, seed: 5}}
`;
}
