// scripts/bench-kernels-peer.mjs without llama.cpp: its reading of test-backend-ops perf output (a captured
// sample), the --test-file cases it writes, and how it lines the two benchmarks up.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ballastBytes, builtinFilter, combine, defaultLlamaThreads, formatTable, ggmlTypeOf, parseTestBackendOpsPerf, testFileLine } from '../../scripts/bench-kernels-peer.mjs';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/test-backend-ops/perf-mul-mat.txt'), 'utf8');

describe('bench-kernels-peer', () => {
  it('reads test-backend-ops perf lines of its own MUL_MAT cases and of --test-file cases (with or without ballast)', () => {
    const rows = parseTestBackendOpsPerf(sample);
    expect(rows).toEqual([
      { format: 'q4_0', rows: 4096, cols: 14336, batch: 1, runs: 345, usPerRun: 2980.1, supported: true },
      { format: 'q4_0', rows: 4096, cols: 14336, batch: 512, runs: 2, usPerRun: 728349, supported: true },
      { format: 'q4_0', rows: 4096, cols: 14336, batch: 1, runs: 260, usPerRun: 4358.67, supported: true },
      { format: 'q4_0', rows: 4096, cols: 14336, batch: 512, runs: 122, usPerRun: 937247.09, supported: true },
      { format: 'q6_K', rows: 64, cols: 256, batch: 4, runs: 253952, usPerRun: 4.05, supported: true },
      { format: 'q4_0', rows: 64, cols: 256, batch: 4, runs: 417792, usPerRun: 2.42, supported: true },
    ]);
  });

  it('reads "not supported" and skips MUL_MAT cases that are not plain weight x activations products', () => {
    const text = [
      '  MUL_MAT(type_a=q4_0,type_b=f32,m=4096,n=4,k=14336,bs=[1,1],nr=[1,1],per=[0,1,2,3],k_v=0,o=1,src_overlap=0): not supported',
      '  MUL_MAT(type_a=f16,type_b=f32,m=16416,n=1,k=128,bs=[8,1],nr=[4,1],per=[0,2,1,3],k_v=0,o=1,src_overlap=0):   10 runs -  1.00 us/run - 1 MFLOP/run - 1 GFLOPS',
      '  MUL_MAT_ID(type_a=q4_0,type_b=f32,n_mats=128,n_used=8,b=0,m=768,n=1,k=2048,o=1):  10 runs -  1.00 us/run - 1 MFLOP/run - 1 GFLOPS',
    ].join('\n');
    expect(parseTestBackendOpsPerf(text)).toEqual([{ format: 'q4_0', rows: 4096, cols: 14336, batch: 4, runs: 0, usPerRun: NaN, supported: false }]);
  });

  it('writes --test-file MUL_MAT lines that test-backend-ops prints back as the same shape', () => {
    // weight ne = [cols, rows], activations [cols, batch], output [rows, batch]; nb 0 = contiguous
    expect(testFileLine(29, 2, 4096, 14336, 16)).toBe('29 0 4096 16 1 1 0 2 2 14336 4096 1 1 0 0 0 0 0 14336 16 1 1 0 0 0 0 -');
    expect(testFileLine(29, 14, 64, 256, 4, { ballast: 126400 })).toBe('29 0 64 4 1 1 0 3 14 256 64 1 1 0 0 0 0 0 256 4 1 1 0 0 0 0 27 15800 1 1 1 0 0 0 0 -');
    const printed = '  MUL_MAT(type=f32,ne=[4096,16,1,1],op_params=[],sources=q4_K[14336,4096,1,1],f32[14336,16,1,1],i64[100,1,1,1]):   5 runs - 10.00 us/run -  1 kB/run - 1 GB/s';
    expect(parseTestBackendOpsPerf(printed)[0]).toMatchObject({ format: 'q4_K', rows: 4096, cols: 14336, batch: 16 });
  });

  it('sizes the ballast so that a file case repeats as often as test-backend-ops repeats its own MUL_MAT cases', () => {
    const GiB = 2 ** 30;
    for (const [type, bytesPerWeight] of [[2, 18 / 32], [1, 2], [14, 210 / 256]] as const) {
      for (const [rows, cols] of [[4096, 4096], [4096, 14336]]) {
        for (const batch of [1, 4, 16, 64, 256, 512]) {
          const ballast = ballastBytes(type, rows, cols, batch);
          expect(ballast % 8).toBe(0);
          expect(ballast).toBeLessThanOrEqual(2 * GiB);
          const opSize = bytesPerWeight * rows * cols + 4 * cols * batch + 4 * rows * batch + ballast;
          const fileRuns = Math.floor((8 * GiB) / opSize) + 1; // eval_perf, no FLOP count
          const ownRuns = Math.floor(8e9 / (2 * rows * cols * batch)) + 1; // eval_perf, test_mul_mat
          if (ballast < 2 * GiB) expect(fileRuns).toBe(ownRuns);
          else expect(fileRuns).toBeLessThanOrEqual(4);
        }
      }
    }
  });

  it('selects test-backend-ops own perf cases with -p', () => {
    const re = new RegExp(builtinFilter(['q4_K'], [[4096, 14336], [4096, 4096]], [1, 4]));
    expect(re.test('type_a=q4_K,type_b=f32,m=4096,n=4,k=14336,bs=[1,1],nr=[1,1],per=[0,1,2,3],k_v=0,o=1,src_overlap=0')).toBe(true);
    expect(re.test('type_a=q4_K,type_b=f32,m=4096,n=1,k=4096,bs=[1,1],nr=[1,1],per=[0,1,2,3],k_v=0,o=1,src_overlap=0')).toBe(true);
    expect(re.test('type_a=q4_K,type_b=f32,m=4096,n=8,k=14336,bs=[1,1],nr=[1,1],per=[0,1,2,3],k_v=0,o=1,src_overlap=0')).toBe(false);
    expect(re.test('type_a=q4_0,type_b=f32,m=4096,n=1,k=14336,bs=[1,1],nr=[1,1],per=[0,1,2,3],k_v=0,o=1,src_overlap=0')).toBe(false);
  });

  it('lines up qinfer and llama.cpp figures: GB/s at batch 1, GFLOP/s above, ratio qinfer / llama.cpp', () => {
    const bytes = 4096 * 14336 * (18 / 32);
    const q = (batch: number, seconds: number, medianSeconds: number) => ({
      op: 'matmul', format: 'q4_0', isa: 'avx512vnni', rows: 4096, cols: 14336, batch, seconds, medianSeconds,
      gbps: bytes / seconds / 1e9, gflops: (2 * 4096 * 14336 * batch) / seconds / 1e9,
    });
    const rows = combine({
      formats: ['q4_0'], shapes: [[4096, 14336]], batches: [1, 512],
      resident: [q(1, 0.001, 0.002), q(512, 0.5, 0.6)],
      fromMemory: [{ op: 'matvec', format: 'q4_0', isa: 'avx512vnni', rows: 4096, cols: 14336, batch: 1, gbps: 15 }],
      llama: parseTestBackendOpsPerf(sample).slice(0, 2),
      bandwidth: { q4_0: 20 },
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ format: 'q4_0', batch: 1, unit: 'GB/s', qinferFromMemoryBestGBps: 15, qinferFromMemoryFraction: 0.75, readBandwidthGBps: 20, llamaRuns: 345 });
    expect(rows[0].qinferResidentMedian).toBeCloseTo(bytes / 0.002 / 1e9, 6);
    expect(rows[0].qinferResidentBest).toBeCloseTo(bytes / 0.001 / 1e9, 6);
    expect(rows[0].llamaMean).toBeCloseTo(bytes / 2980.1e-6 / 1e9, 6);
    expect(rows[0].ratio).toBeCloseTo(2980.1e-6 / 0.002, 6);
    expect(rows[1]).toMatchObject({ batch: 512, unit: 'GFLOP/s', qinferFromMemoryBestGBps: null });
    expect(rows[1].llamaMean).toBeCloseTo((2 * 4096 * 14336 * 512) / 0.728349 / 1e9, 6);
    expect(rows[1].ratio).toBeCloseTo(0.728349 / 0.6, 6);
    const table = formatTable(rows, { threads: 1 });
    expect(table).toContain('| q4_0 | 4096x14336 | 1 | GB/s |');
    expect(table).toContain('15.0 (75%)');
  });

  it('knows the ggml type ids and the thread count test-backend-ops picks', () => {
    expect(ggmlTypeOf('q4_k')).toEqual([12, 'q4_K']);
    expect(ggmlTypeOf('q8_0')).toEqual([8, 'q8_0']);
    expect(() => ggmlTypeOf('q9_9')).toThrow(/--formats: q9_9 is not one of f32, f16/);
    expect(defaultLlamaThreads(2)).toBe(1);
    expect(defaultLlamaThreads(1)).toBe(1);
    expect(defaultLlamaThreads(16)).toBe(8);
  });
});
