// qinfer bench <model> (model throughput, bench-model.ts) or qinfer bench --kernels: CPU kernel speed against the measured memory bandwidth.
import { parseArgs } from 'node:util';

import { KERNEL_FORMATS, KERNEL_ISAS, type KernelBenchReport, type KernelBenchResult, type KernelIsa, benchKernels } from '../../bench-kernels.js';
import { native } from '../../binding.js';
import { expectInteger, expectNumber, expectOneOf, invalid } from '../../options.js';
import { modelBenchCommand, modelBenchHelp } from './bench-model.js';

const kernelHelp = `qinfer bench --kernels [--json] [--threads N] [--isa a,b] [--formats f,g] [--batches 1,4,...]
             [--shapes 4096x4096,4096x14336] [--min-seconds S] [--rounds N] [--resident]

Measures this machine's memory read bandwidth, then per format: matrix-vector GB/s at each ISA level
(with its fraction of the bandwidth; decode cycles through weight copies larger than the cache) and
matrix-matrix GFLOP/s per batch at the best level. Each figure is the fastest of several repetitions.
  --threads N       threads (default: physical cores)
  --isa a,b         levels for the matrix-vector rows (generic, avx2, avx512, avx512vnni; default: all)
  --formats f,g     formats (default: ${KERNEL_FORMATS.join(', ')})
  --batches ...     matrix-matrix batch sizes (default 1,4,16,64,256,512; "" for none)
  --min-seconds S   minimum time per measurement (default 0.3)
  --rounds N        repeat the whole sweep N times and keep each row's best (default 1)
  --resident        reuse one copy of the weights: shapes that fit the caches give each kernel's
                    compute roof (GB/s may then exceed the memory's)
  --json            one JSON object: {"bandwidthGBps", "results": [{op, format, isa, rows, cols, batch,
                    seconds, gbps, gflops, fractionOfBandwidth, ...}]}`;

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

function progressRow(r: KernelBenchResult): string {
  const shape = `${r.rows}x${r.cols}`.padEnd(11);
  if (r.op === 'matvec')
    return `matvec  ${r.format.padEnd(7)} ${r.isa.padEnd(11)} ${shape} ${r.gbps.toFixed(1).padStart(6)} GB/s`;
  return `matmul  ${r.format.padEnd(7)} ${r.isa.padEnd(11)} ${shape} batch ${String(r.batch).padStart(3)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s`;
}

// Markdown tables: matrix-vector GB/s (and % of bandwidth) per format x ISA, matrix-matrix GFLOP/s per format x batch.
export function formatReport(report: KernelBenchReport): string {
  const out = [`Read bandwidth: ${report.bandwidthGBps.toFixed(1)} GB/s, ${report.threads} threads (${native().cpuInfo().model})${report.resident ? '; weights reused from the caches (--resident)' : ''}.`];
  const shapes = [...new Set(report.results.map((r) => `${r.rows}x${r.cols}`))];
  const formats = [...new Set(report.results.map((r) => r.format))];
  for (const shape of shapes) {
    const mv = report.results.filter((r) => r.op === 'matvec' && `${r.rows}x${r.cols}` === shape);
    const isas = [...new Set(mv.map((r) => r.isa))];
    if (mv.length) {
      out.push('', `Matrix-vector ${shape}: GB/s of weights (fraction of the read bandwidth)`, '', `| format | ${isas.join(' | ')} |`, `|---|${isas.map(() => '---|').join('')}`);
      for (const f of formats) {
        const cells = isas.map((isa) => {
          const r = mv.find((x) => x.format === f && x.isa === isa);
          return r ? `${r.gbps.toFixed(1)} (${Math.round(100 * r.fractionOfBandwidth)}%)` : '';
        });
        out.push(`| ${f} | ${cells.join(' | ')} |`);
      }
    }
    const mm = report.results.filter((r) => r.op === 'matmul' && `${r.rows}x${r.cols}` === shape);
    const batches = [...new Set(mm.map((r) => r.batch))];
    if (mm.length) {
      out.push('', `Matrix-matrix ${shape} (${mm[0]!.isa}): GFLOP/s by batch`, '', `| format | ${batches.join(' | ')} |`, `|---|${batches.map(() => '---|').join('')}`);
      for (const f of formats) out.push(`| ${f} | ${batches.map((n) => mm.find((x) => x.format === f && x.batch === n)?.gflops.toFixed(0) ?? '').join(' | ')} |`);
    }
  }
  return out.join('\n');
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
    rounds: values.rounds === undefined ? undefined : expectInteger(Number(values.rounds), '--rounds', 1, 100),
    resident: values.resident === true,
    onResult: json ? undefined : (r) => console.error(progressRow(r)),
  });
  console.log(json ? JSON.stringify(report) : formatReport(report));
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
      rounds: { type: 'string' },
      resident: { type: 'boolean' },
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
