import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { probe } from '../../lib/probe.js';

const cpuinfoFlags = new Set(
  (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '').split(/\s+/),
);
// /proc/cpuinfo spells a few flags differently from the probe.
const cpuinfoName: Record<string, string> = { sse4_2: 'sse4_2', avx512vnni: 'avx512_vnni', avx512bf16: 'avx512_bf16', avxvnni: 'avx_vnni', amx: 'amx_int8' };

describe('probe', () => {
  it('reports the CPU flags /proc/cpuinfo lists', async () => {
    const p = await probe();
    for (const [flag, on] of Object.entries(p.cpu.features)) {
      expect({ flag, on }).toEqual({ flag, on: cpuinfoFlags.has(cpuinfoName[flag] ?? flag) });
    }
    expect(p.cpu.cores).toBeGreaterThan(0);
    expect(p.cpu.memoryBytes).toBeGreaterThan(1 << 28);
  });

  it('lists every backend, each available or with a reason', async () => {
    const p = await probe();
    expect(p.backends.map((b) => b.name)).toEqual(['cpu', 'cuda', 'vulkan']);
    for (const b of p.backends) {
      if (b.available) expect(b.devices.length).toBeGreaterThan(0);
      else expect(b.reason).toMatch(/\w/);
    }
    expect(p.backends.find((b) => b.name === p.selected)?.available).toBe(true);
  });

  it('qinfer probe --json prints the documented shape', () => {
    const out = execFileSync(process.execPath, ['dist/cli/main.js', 'probe', '--json'], { encoding: 'utf8' });
    const j = JSON.parse(out);
    expect(typeof j.cpu.model).toBe('string');
    expect(typeof j.cpu.cores).toBe('number');
    expect(typeof j.cpu.memoryBytes).toBe('number');
    expect(typeof j.cpu.features.avx2).toBe('boolean');
    expect(['cpu', 'cuda', 'vulkan']).toContain(j.selected);
    for (const b of j.backends) {
      expect(typeof b.available).toBe('boolean');
      for (const d of b.devices) {
        expect(typeof d.name).toBe('string');
        expect(typeof d.memoryBytes).toBe('number');
      }
    }
  });

  it('qinfer probe prints a table', () => {
    const out = execFileSync(process.execPath, ['dist/cli/main.js', 'probe'], { encoding: 'utf8' });
    expect(out).toMatch(/^CPU /);
    expect(out).toMatch(/Selected backend \(auto\): (cpu|cuda|vulkan)/);
  });
});
