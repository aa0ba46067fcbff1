// The CPU kernel levels this machine can run, and a helper that switches QINFER_CPU_ISA for a callback.
import { native } from '../../lib/binding.js';

export const ISA_LEVELS = ['generic', 'avx2', 'avx512', 'avx512vnni'] as const;
export type IsaLevel = (typeof ISA_LEVELS)[number];

const supported = native().cpuInfo().isaSupported;
export const runnableLevels: IsaLevel[] = ISA_LEVELS.slice(0, ISA_LEVELS.indexOf(supported) + 1);
export const missingLevels: IsaLevel[] = ISA_LEVELS.slice(ISA_LEVELS.indexOf(supported) + 1);

/** Runs fn with the kernels of `level`, checking that the native side really switched. */
export function withIsa<T>(level: IsaLevel, fn: () => T): T {
  const saved = process.env.QINFER_CPU_ISA;
  process.env.QINFER_CPU_ISA = level;
  try {
    const active = native().cpuKernelIsa();
    if (active !== level) throw new Error(`QINFER_CPU_ISA=${level} but the kernels report ${active}`);
    return fn();
  } finally {
    if (saved === undefined) delete process.env.QINFER_CPU_ISA;
    else process.env.QINFER_CPU_ISA = saved;
  }
}
