// Kernel benchmark: this machine's read bandwidth, then matrix-vector GB/s per format and ISA level and
// matrix-matrix GFLOP/s per batch, each measurement in a native worker thread.
import { native } from './binding.js';
import { UnsupportedError } from './errors.js';

export type KernelIsa = 'generic' | 'avx2' | 'avx512' | 'avx512vnni';
export const KERNEL_ISAS: readonly KernelIsa[] = ['generic', 'avx2', 'avx512', 'avx512vnni'];

/** Formats of the kernels issue, in the order the tables list them. */
export const KERNEL_FORMATS = [
  'f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k', 'iq4_nl', 'iq4_xs',
] as const;

export interface KernelBenchOptions {
  threads?: number;
  /** ISA levels for the matrix-vector rows (default: every level this CPU runs). */
  isas?: KernelIsa[];
  formats?: string[];
  /** Weight shapes as [rows, cols]. */
  shapes?: Array<[number, number]>;
  batches?: number[];
  /** Minimum time per measurement (each also runs at least 3 times). */
  minSeconds?: number;
  /** Reuse one copy of the weights, so that shapes fitting the caches measure each kernel's compute
   * roof rather than memory; fractionOfBandwidth may then exceed 1. Default false. */
  resident?: boolean;
  /** ISA level of the matrix-matrix rows (default: the best). */
  matmulIsa?: KernelIsa;
  /** Runs the whole sweep this many times, keeping each row's fastest run and the highest bandwidth
   * (the machine may be shared: the best of several rounds is the least disturbed). Default 1. */
  rounds?: number;
  /** Bytes the bandwidth measurement streams (default: 8x the last-level cache, at least 256 MiB). */
  bandwidthBytes?: number;
  onBandwidth?: (gbps: number, threads: number) => void;
  onResult?: (r: KernelBenchResult) => void;
}

export interface KernelBenchResult {
  op: 'matvec' | 'matmul';
  format: string;
  isa: KernelIsa;
  rows: number;
  cols: number;
  batch: number;
  /** Fastest repetition (the machine is shared: the best is the least disturbed). */
  seconds: number;
  medianSeconds: number;
  repetitions: number;
  gbps: number;
  gflops: number;
  fractionOfBandwidth: number;
}

export interface KernelBenchReport {
  bandwidthGBps: number;
  threads: number;
  /** Weights were reused from the caches (see KernelBenchOptions.resident). */
  resident: boolean;
  results: KernelBenchResult[];
}

export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const b = native();
  const cpu = b.cpuInfo();
  const threads = opts.threads ?? cpu.physicalCores;
  const runnable = KERNEL_ISAS.slice(0, KERNEL_ISAS.indexOf(cpu.isaSupported) + 1);
  const isas = opts.isas ?? runnable;
  for (const isa of [...isas, ...(opts.matmulIsa ? [opts.matmulIsa] : [])])
    if (!runnable.includes(isa)) throw new UnsupportedError(`ISA level ${isa} is not supported by this CPU (best: ${cpu.isaSupported})`);
  // ggml spells the K-quants "q4_K"; the benchmark names every format in lower case.
  const types = new Map(b.quantFormats().map((f) => [f.name.toLowerCase(), f.type]));
  const formats = opts.formats?.map((f) => f.toLowerCase()) ?? KERNEL_FORMATS.filter((f) => types.has(f));
  for (const f of formats) if (!types.has(f)) throw new UnsupportedError(`format ${f} has no kernels`);
  const shapes = opts.shapes ?? [[4096, 4096], [4096, 14336]];
  const batches = opts.batches ?? [1, 4, 16, 64, 256, 512];
  const minSeconds = opts.minSeconds ?? 0.3;
  const resident = opts.resident ?? false;

  // A streaming read of 8x the last-level cache (at least 256 MiB), best 16 MiB window.
  const bytes = opts.bandwidthBytes ?? Math.max(256 * 2 ** 20, 8 * cpu.l3Bytes);
  const rounds = opts.rounds ?? 1;
  let bw = 0;
  const best = new Map<string, KernelBenchResult>();
  const measure = async (op: 'matvec' | 'matmul', format: string, isa: KernelIsa, rows: number, cols: number, batch: number) => {
    const t = await b.cpuKernelBench({ kind: 'matmul', threads, isa, type: types.get(format)!, rows, cols, batch, minSeconds, resident });
    const key = [op, format, isa, rows, cols, batch].join('/');
    const prev = best.get(key);
    const r: KernelBenchResult = {
      op, format, isa, rows, cols, batch,
      seconds: t.bestSeconds,
      medianSeconds: t.medianSeconds,
      repetitions: t.repetitions + (prev?.repetitions ?? 0),
      gbps: t.bytes / t.bestSeconds / 1e9,
      gflops: (2 * rows * cols * batch) / t.bestSeconds / 1e9,
      fractionOfBandwidth: 0,
    };
    if (prev && prev.seconds <= r.seconds) prev.repetitions = r.repetitions;
    else best.set(key, r);
    opts.onResult?.(r);
  };
  // Measured again before every format's rows and maximized: on a shared machine a single early
  // measurement may fall in a busy moment that the products then escape.
  const sampleBandwidth = async () => {
    bw = Math.max(bw, (await b.cpuKernelBench({ kind: 'bandwidth', threads, bytes, reps: 3 })).bytesPerSecond);
  };
  for (let round = 0; round < rounds; round++) {
    await sampleBandwidth();
    if (round === 0) opts.onBandwidth?.(bw / 1e9, threads);
    const matmulIsa = opts.matmulIsa ?? cpu.isaSupported;
    for (const [rows, cols] of shapes) {
      for (const format of formats) {
        await sampleBandwidth();
        for (const isa of isas) await measure('matvec', format, isa, rows, cols, 1);
      }
      for (const format of formats) for (const batch of batches) await measure('matmul', format, matmulIsa, rows, cols, batch);
    }
  }
  const results = [...best.values()];
  for (const r of results) r.fractionOfBandwidth = (r.gbps * 1e9) / bw;
  return { bandwidthGBps: bw / 1e9, threads, resident, results };
}
