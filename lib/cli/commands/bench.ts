// qinfer bench <model> (model throughput, bench-model.ts) or qinfer bench --kernels: CPU kernel speed against the measured memory bandwidth.
import { parseArgs } from 'node:util';

import { KERNEL_FORMATS, KERNEL_ISAS, type KernelBenchReport, type KernelBenchResult, type KernelIsa, benchKernels } from '../../bench-kernels.js';
import { native } from '../../binding.js';
import { expectInteger, expectNumber, expectOneOf, invalid } from '../../options.js';
import { modelBenchCommand, modelBenchHelp } from './bench-model.js';

const kernelHelp = `qinfer bench --kernels [--json] [--threads N] [--isa a,b] [--formats f,g] [--batches 1,4,...]
             [--shapes 4096x4096,4096x14336] [--min-seconds S]

Measures this machine's memory read bandwidth, then per format: matrix-vector GB/s at each ISA level
(with its fraction of the bandwidth; decode cycles through weight copies larger than the cache) and
matrix-matrix GFLOP/s per batch at the best level. Each figure is the fastest of several repetitions.
  --threads N       threads (default: physical cores)
  --isa a,b         levels for the matrix-vector rows (generic, avx2, avx512, avx512vnni; default: all)
  --formats f,g     formats (default: ${KERNEL_FORMATS.join(', ')})
  --batches ...     matrix-matrix batch sizes (default 1,4,16,64,256,512; "" for none)
  --min-seconds S   minimum time per measurement (default 0.3)
  --json            one JSON object: {"bandwidthGBps", "results": [{op, format, isa, rows, cols, batch,
                    seconds, gbps, gflops, fractionOfBandwidth, ...}]}`;

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

function formatRow(r: KernelBenchResult): string {
  const shape = `${r.rows}x${r.cols}`.padEnd(11);
  if (r.op === 'matvec')
    return `matvec  ${r.format.padEnd(7)} ${r.isa.padEnd(11)} ${shape} ${r.gbps.toFixed(1).padStart(6)} GB/s  ${(100 * r.fractionOfBandwidth).toFixed(0).padStart(4)}% of bandwidth`;
  return `matmul  ${r.format.padEnd(7)} ${r.isa.padEnd(11)} ${shape} batch ${String(r.batch).padStart(3)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s`;
}

export async function kernelBenchCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const json = values.json === true;
  const isas = list(values.isa as string | undefined)?.map((v) => expectOneOf(v, KERNEL_ISAS, '--isa')) as KernelIsa[] | undefined;
  const shapes = list(values.shapes as string | undefined)?.map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s);
    if (!m) throw invalid('ROWSxCOLS', '--shapes', s);
    return [Number(m[1]), Number(m[2])] as [number, number];
  });
  const batchList = values.batches === undefined ? undefined : list(values.batches as string)!.map((v) => expectInteger(Number(v), '--batches', 1, 65536));
  const report: KernelBenchReport = await benchKernels({
    threads: values.threads === undefined ? undefined : expectInteger(Number(values.threads), '--threads', 1, 1024),
    isas,
    formats: list(values.formats as string | undefined),
    shapes,
    batches: batchList,
    minSeconds: values['min-seconds'] === undefined ? undefined : expectNumber(Number(values['min-seconds']), '--min-seconds', 0, 60),
    onBandwidth: json ? undefined : (gbps, threads) => console.log(`read bandwidth ${gbps.toFixed(1)} GB/s with ${threads} threads (${native().cpuInfo().model})\n`),
    onResult: json ? undefined : (r) => console.log(formatRow(r)),
  });
  if (json) console.log(JSON.stringify(report));
  return 0;
}

export default async function benchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kernels: { type: 'boolean' },
      pp: { type: 'string' },
      tg: { type: 'string' },
      reps: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
      threads: { type: 'string' },
      isa: { type: 'string' },
      formats: { type: 'string' },
      batches: { type: 'string' },
      shapes: { type: 'string' },
      'min-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`${modelBenchHelp}\n\n${kernelHelp}`);
    return 0;
  }
  if (!values.kernels) return modelBenchCommand(positionals, values);
  if (positionals.length) throw invalid('no model with --kernels', 'qinfer bench', positionals.join(' '));
  return kernelBenchCommand(values);
}
