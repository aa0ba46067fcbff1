// The kernel benchmark's report shape on a tiny run (the benchmark itself is a script: qinfer bench --kernels).
import { describe, expect, it } from 'vitest';

import { benchKernels } from '../../lib/bench-kernels.js';
import { UnsupportedError } from '../../lib/errors.js';

describe('kernel benchmark', () => {
  it('reports bandwidth and one row per measurement with the documented fields', async () => {
    const seen: string[] = [];
    const r = await benchKernels({ formats: ['q4_0', 'f16'], isas: ['generic', 'avx2'], shapes: [[64, 256]], batches: [1, 5], minSeconds: 0, bandwidthBytes: 2 ** 24, onResult: (x) => seen.push(x.op) });
    expect(r.bandwidthGBps).toBeGreaterThan(0);
    expect(r.resident).toBe(false);
    expect(r.results).toHaveLength(2 * 2 + 2 * 2);
    expect(seen).toEqual(r.results.map((x) => x.op));
    for (const x of r.results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['op', 'format', 'isa', 'rows', 'cols', 'batch', 'seconds', 'gbps', 'gflops', 'fractionOfBandwidth']));
      expect(x.seconds).toBeGreaterThan(0);
      expect(x.gflops).toBeCloseTo((2 * x.rows * x.cols * x.batch) / x.seconds / 1e9, 6);
    }
  });

  it('reuses one weight copy when asked (--resident) and says so', async () => {
    const r = await benchKernels({ formats: ['q8_0'], isas: ['generic'], shapes: [[32, 256]], batches: [], minSeconds: 0, bandwidthBytes: 2 ** 24, resident: true });
    expect(r.resident).toBe(true);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]!.gbps).toBeGreaterThan(0);
  });

  it('refuses unknown formats', async () => {
    await expect(benchKernels({ formats: ['q9_9'], shapes: [[16, 256]], batches: [] })).rejects.toThrow(UnsupportedError);
  });
});
