/** What the numbers were measured on: CPU, cores, load, versions. */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** Vector extensions the CPU reports (Linux only), e.g. ['avx2', 'avx512f']. */
  simd: string[];
  memoryGiB: number;
  platform: string;
  node: string;
  tfjs: string;
  date: string;
  /** 1, 5 and 15 minute load averages when the bench started. */
  loadStart: [number, number, number];
}

function cpuFlags(): string[] {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('flags'));
    if (!line) return [];
    const flags = new Set(line.split(':')[1]!.trim().split(/\s+/));
    return ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'].filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [round2(a!), round2(b!), round2(c!)];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() || os.arch(),
    cores: cpus.length,
    simd: cpuFlags(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version.tfjs,
    date: new Date().toISOString(),
    loadStart: loadAverage(),
  };
}
