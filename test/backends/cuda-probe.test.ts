// The CUDA probe: the driver's absence as a reason (CI), or the devices' fields (GPU machine).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildReason } from '../../lib/backend.js';
import { probe } from '../../lib/probe.js';

const p = await probe();
const cuda = p.backends.find((b) => b.name === 'cuda')!;
const notBuilt = buildReason('cuda');

// Whether the dynamic loader can find the driver library, judged without qinfer.
function libcudaPresent(): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libcuda.so.1')))) return true;
  try {
    return /\blibcuda\.so\.1\b/.test(execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

describe('CUDA probe', () => {
  it.skipIf(notBuilt !== undefined || libcudaPresent())('without libcuda.so.1, CUDA is unavailable with that reason', () => {
    expect(cuda.available).toBe(false);
    expect(cuda.reason).toMatch(/^libcuda\.so\.1 not found \(no NVIDIA driver\)/);
    expect(cuda.devices).toEqual([]);
  });

  it.skipIf(notBuilt === undefined)('a module that was not built says why', () => {
    expect(cuda.available).toBe(false);
    expect(cuda.reason).toMatch(/qinfer-cuda module was not built/);
  });

  it.skipIf(!cuda.available)('describes every CUDA device', () => {
    expect(cuda.driverVersion).toMatch(/^\d+\.\d+$/);
    expect(cuda.runtimeVersion).toMatch(/^\d+\.\d+$/);
    expect(cuda.devices.length).toBeGreaterThan(0);
    for (const d of cuda.devices) {
      expect(d.name).toMatch(/\w/);
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(d.multiprocessors as number).toBeGreaterThan(0);
      expect(d.pciBusId).toMatch(/^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$/i);
      expect(d.memoryBytes).toBeGreaterThan(0);
      expect(d.freeMemoryBytes).toBeGreaterThan(0);
      expect(d.freeMemoryBytes).toBeLessThanOrEqual(d.memoryBytes);
    }
  });
});

if (notBuilt) console.log(`CUDA module not built: ${notBuilt}`);
else if (!cuda.available) console.log(`CUDA unavailable: ${cuda.reason}`);
