// ISA level selection: every level this CPU has can be forced, levels it lacks and unknown names are refused.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { InvalidArgumentError, UnsupportedError } from '../../lib/errors.js';
import { missingLevels, runnableLevels, withIsa } from './isa-levels.js';

const b = native();

describe('CPU kernel levels', () => {
  it('defaults to the best level the CPU supports', () => {
    const saved = process.env.QINFER_CPU_ISA;
    delete process.env.QINFER_CPU_ISA;
    try {
      expect(b.cpuKernelIsa()).toBe(b.cpuInfo().isaSupported);
    } finally {
      if (saved !== undefined) process.env.QINFER_CPU_ISA = saved;
    }
  });

  it('switches to every level the CPU supports', () => {
    for (const level of runnableLevels) expect(withIsa(level, () => b.cpuKernelIsa())).toBe(level);
  });

  it('refuses levels the CPU lacks and unknown names', () => {
    if (missingLevels.length === 0) console.log('this CPU supports every level: only unknown names can be refused here');
    for (const level of missingLevels) expect(() => withIsa(level, () => 0)).toThrow(UnsupportedError);
    const saved = process.env.QINFER_CPU_ISA;
    process.env.QINFER_CPU_ISA = 'avx1024';
    try {
      expect(() => b.cpuKernelIsa()).toThrow(InvalidArgumentError);
      expect(() => b.cpuMatmul(0, new Uint8Array(4), 1, 1, new Float32Array(1), 1)).toThrow(InvalidArgumentError);
    } finally {
      if (saved === undefined) delete process.env.QINFER_CPU_ISA;
      else process.env.QINFER_CPU_ISA = saved;
    }
  });
});
