// The Vulkan probe fields (lavapipe in CI, NVIDIA on the GPU machine), and that auto does not pick a CPU-only Vulkan device.
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { probe } from '../../lib/probe.js';

const p = await probe();
const vulkan = p.backends.find((b) => b.name === 'vulkan')!;
if (!vulkan.available) console.log(`skipping Vulkan probe tests: ${vulkan.reason}`);

const FEATURES = ['float16', 'int8Arithmetic', 'storage8bit', 'storage16bit', 'integerDotProduct', 'cooperativeMatrix'];
const validationLayer = ['/usr/share/vulkan/explicit_layer.d', '/etc/vulkan/explicit_layer.d'].some((d) =>
  existsSync(`${d}/VkLayer_khronos_validation.json`),
);

describe.skipIf(!vulkan.available)('Vulkan probe', () => {
  it('reports the loader version and whether validation is on', () => {
    expect(vulkan.loaderVersion).toMatch(/^1\.\d+\.\d+$/);
    const wanted = (process.env.QINFER_VULKAN_VALIDATION ?? '0') !== '0' && validationLayer;
    expect(vulkan.validation).toBe(wanted);
  });

  it('describes every device', () => {
    expect(vulkan.devices.length).toBeGreaterThan(0);
    for (const d of vulkan.devices) {
      expect(['discrete', 'integrated', 'virtual', 'cpu', 'other']).toContain(d.deviceType);
      expect(d.vendorId).toEqual(expect.any(Number));
      expect(d.driverVersion).toEqual(expect.any(String));
      expect(d.subgroupSize as number).toBeGreaterThan(0);
      const heaps = d.memoryHeaps as { bytes: number; deviceLocal: boolean }[];
      expect(heaps.length).toBeGreaterThan(0);
      for (const h of heaps) expect(h.bytes).toBeGreaterThan(0);
      // memoryBytes is the sum of the device-local heaps.
      expect(d.memoryBytes).toBe(heaps.filter((h) => h.deviceLocal).reduce((s, h) => s + h.bytes, 0));
      expect(d.freeMemoryBytes).toBeLessThanOrEqual(d.memoryBytes);
      for (const f of FEATURES) expect(typeof d[f]).toBe('boolean');
    }
  });

  it('reports lavapipe as a CPU device with its features', () => {
    const lvp = vulkan.devices.find((d) => d.driverName === 'llvmpipe');
    if (!lvp) {
      console.log('no lavapipe device here: skipping its checks');
      return;
    }
    expect(lvp.deviceType).toBe('cpu');
    expect(lvp.vendorId).toBe(0x10005); // Mesa's VK_VENDOR_ID_MESA
    expect(lvp.float16).toBe(true);
  });

  it('auto never selects a Vulkan backend whose devices are all CPUs', () => {
    if (vulkan.devices.every((d) => d.deviceType === 'cpu')) expect(p.selected).not.toBe('vulkan');
    else expect(p.selected === 'cuda' || p.selected === 'vulkan').toBe(true);
  });
});
