#!/usr/bin/env node
// qinfer's CPU kernels and llama.cpp's CPU backend (ggml-cpu, through its test-backend-ops perf mode) on
// the same matrix products in one run, alternating format by format so that both see the same machine
// state. Prints a table (or --json). See --help.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { KERNEL_FORMATS } from '../dist/bench-kernels.js';
import { findGgmlType, tensorBytes } from '../dist/ggml-types.js';

const root = resolve(import.meta.dirname, '..');

const help = `node scripts/bench-kernels-peer.mjs --test-backend-ops PATH [options]

Runs qinfer's kernel benchmark (qinfer bench --kernels --json) and llama.cpp's test-backend-ops perf
mode (-b CPU) on the same weight shapes, formats, batches and thread count, format by format
(qinfer, then llama.cpp, then the next format), and prints one table.

  --test-backend-ops PATH   llama.cpp's test-backend-ops binary (or env QINFER_TEST_BACKEND_OPS)
  --formats a,b             q4_0, q8_0, q4_K, q6_K, f16 by default (any of qinfer bench --kernels'
                            formats: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K .. q6_K,
                            iq4_nl, iq4_xs)
  --shapes RxC,...          weights of R rows of C columns (default 4096x4096,4096x14336)
  --batches 1,4,...         tokens per product (default 1,4,16,64,256,512)
  --threads N               threads for both (default: the count test-backend-ops uses by itself,
                            std::thread::hardware_concurrency() / 2, at least 1: ${defaultLlamaThreads()} here). It has
                            no option for it (it calls ggml_backend_set_n_threads with that count), so
                            another count needs --llama-preload.
  --llama-preload LIB       LD_PRELOAD for test-backend-ops only: a shared library defining
                            std::thread::hardware_concurrency() to return twice --threads (a one-line
                            C++ file, "unsigned int std::thread::hardware_concurrency() noexcept
                            { return 4; }" for 2 threads, built with g++ -shared -fPIC); it changes
                            nothing else that is timed (only the threads filling the test tensors)
  --cases file|builtin      file (default): a --test-file of MUL_MAT cases written for the chosen shapes
                            and batches (needs a test-backend-ops with --test-file; each case carries
                            an unused I64 source, at most 2 GiB, so that test-backend-ops repeats it
                            as often as its own MUL_MAT cases: it counts a file case's repetitions by
                            bytes, 8 GiB per timed graph, not by FLOPs); builtin: its own
                            perf cases filtered with -p, which cover only 4096x14336 at batches
                            1, 2, 3, 4, 5, 8, 512 (and q4_K 4096x4096 up to 8): other cells stay empty.
                            Falls back to builtin when the binary lacks --test-file.
  --min-seconds S           qinfer's minimum time per measurement (default 0.3; test-backend-ops
                            always runs each case for at least 1 s after one warm-up run)
  --no-from-memory          skip qinfer's from-memory matrix-vector run
  --json                    one JSON object instead of the table
  --json-file PATH          also write that JSON object to PATH

Getting test-backend-ops: configure llama.cpp's source (for instance the copy node-llama-cpp
downloads) with CMake for the CPU only, with native code generation, the tests enabled and a
Release build (GGML_NATIVE on, GGML_CUDA, GGML_VULKAN and LLAMA_CURL off, LLAMA_BUILD_TESTS on),
build just the test-backend-ops target, and pass the binary from the build's bin/ folder.

How the two map: test-backend-ops' MUL_MAT case (m, n, k) multiplies a weight of m rows of k columns
(ggml ne = [k, m]) by n activation columns, so qinfer's RxC at batch B is m = R, k = C, n = B.
Figures: batch 1 in GB/s of weights, larger batches in GFLOP/s (2*R*C*B per product). llama.cpp's
is the mean over its runs (at least 1 s) with ONE weight matrix reused, which stays in a large L3;
the like-for-like qinfer figure is therefore --resident (one weight copy reused), median
repetition. The ratio is qinfer / llama.cpp. Separately: qinfer's from-memory matrix-vector figure
(its default benchmark, cycling weight copies totalling 4x L3, best repetition) and the read
bandwidth qinfer measured in the same run. test-backend-ops keeps weights in the plain CPU buffer,
so the llama.cpp figures are ggml's plain kernels, not the repacked (CPU_REPACK) or AMX weight
buffers llama.cpp puts model weights in where the CPU has them.`;

/** ggml's type id and spelling ("q4_K") of one of qinfer's kernel formats (lower case), from the addon's type table. */
export function ggmlTypeOf(format) {
  const t = KERNEL_FORMATS.includes(format) ? findGgmlType(format) : undefined;
  if (!t) throw new Error(`--formats: ${format} is not one of ${KERNEL_FORMATS.join(', ')}`);
  return [t.id, t.name];
}

export function defaultLlamaThreads(hardwareThreads = cpus().length) {
  return Math.max(1, Math.floor(hardwareThreads / 2));
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * Parses test-backend-ops perf console output into MUL_MAT rows. Understands both its own perf cases
 * (`MUL_MAT(type_a=q4_0,type_b=f32,m=4096,n=1,k=14336,...)`) and cases read from a --test-file
 * (`MUL_MAT(name=..,type=f32,ne=[m,n,1,1],op_params=[..],sources=q4_0[k,m,1,1],f32[k,n,1,1])`).
 * Returns [{format (ggml spelling), rows, cols, batch, runs, usPerRun, supported}].
 */
export function parseTestBackendOpsPerf(text) {
  const rows = [];
  for (const raw of text.split('\n')) {
    const line = stripAnsi(raw).trim();
    const head = /^MUL_MAT\((.*)\):\s+(.*)$/.exec(line);
    if (!head) continue;
    const [, params, rest] = head;
    let format, rows_, cols, batch;
    const builtin = /(?:^|,)type_a=([A-Za-z0-9_]+),type_b=f32,m=(\d+),n=(\d+),k=(\d+),bs=\[1,1\],nr=\[1,1\],per=\[0,1,2,3\]/.exec(params);
    const file = /(?:^|,)sources=([A-Za-z0-9_]+)\[(\d+),(\d+),1,1\],f32\[(\d+),(\d+),1,1\](?:,i64\[\d+,1,1,1\])?$/.exec(params);
    if (builtin) [format, rows_, batch, cols] = [builtin[1], +builtin[2], +builtin[3], +builtin[4]];
    else if (file && file[2] === file[4]) [format, cols, rows_, batch] = [file[1], +file[2], +file[3], +file[5]];
    else continue; // another MUL_MAT case (batched, permuted, views): not one of ours
    if (/^not supported/.test(rest)) {
      rows.push({ format, rows: rows_, cols, batch, runs: 0, usPerRun: NaN, supported: false });
      continue;
    }
    const t = /^(\d+) runs - +([\d.]+) us\/run/.exec(rest);
    if (!t) throw new Error(`test-backend-ops: cannot read the timing of: ${line}`);
    rows.push({ format, rows: rows_, cols, batch, runs: +t[1], usPerRun: +t[2], supported: true });
  }
  return rows;
}

const GIB = 2 ** 30;
const I64 = 27; // ggml's GGML_TYPE_I64
const BALLAST_CAP = 2 * GIB;


/**
 * Bytes of an unused I64 source ("ballast") for a --test-file MUL_MAT case. test-backend-ops repeats a
 * case read from a file floor(8 GiB / bytes of its tensors) + 1 times per timed graph (it knows no FLOP
 * count for them), against 8 GFLOP / FLOPs + 1 for its own MUL_MAT cases: a batch-256 product of a
 * 4096x14336 weight would run 160 times per graph instead of once. MUL_MAT reads only its first two
 * sources, so a third one only raises that byte count: sized so that a case is repeated as often as
 * test-backend-ops' own MUL_MAT cases are, up to BALLAST_CAP (then a few more repetitions).
 */
export function ballastBytes(typeId, rows, cols, batch) {
  const natural = tensorBytes(typeId, [cols, rows]) + 4 * cols * batch + 4 * rows * batch;
  const want = Math.floor(8e9 / (2 * rows * cols * batch)) + 1; // test_mul_mat's repetitions
  const target = want >= 2 ? Math.floor((8 * GIB) / (want - 0.5)) : Infinity;
  const bytes = Math.min(BALLAST_CAP, target - natural);
  return bytes < 4096 ? 0 : Math.ceil(bytes / 8) * 8;
}

/** One --test-file line: a contiguous MUL_MAT of a [cols, rows] weight by [cols, batch] f32 activations
 * (plus the ballast source when ballast > 0). */
export function testFileLine(mulMatOp, typeId, rows, cols, batch, { name = '-', ballast = 0 } = {}) {
  // op type ne0..3 n_params [params] n_src {type ne0..3 nb0..3} name; nb all 0 means contiguous.
  const src = [[typeId, cols, rows], [0, cols, batch], ...(ballast ? [[I64, ballast / 8, 1]] : [])];
  return [mulMatOp, 0, rows, batch, 1, 1, 0, src.length, ...src.flatMap(([t, a, b]) => [t, a, b, 1, 1, 0, 0, 0, 0]), name].join(' ');
}

/** -p regex selecting test-backend-ops' own perf cases for these formats, shapes and batches. */
export function builtinFilter(ggmlNames, shapes, batches) {
  const shapeAlt = shapes.map(([r, c]) => `m=${r},n=(?:${batches.join('|')}),k=${c}`).join('|');
  return `^type_a=(?:${ggmlNames.join('|')}),type_b=f32,(?:${shapeAlt}),bs=\\[1,1\\],nr=\\[1,1\\],per=\\[0,1,2,3\\],k_v=0,o=1`;
}

function run(cmd, args, what, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  return r;
}

// The MUL_MAT op id of this ggml build (the --test-file format takes enum numbers): one support-mode
// pass over ids 1..63, each line named after its id, filtered to MUL_MAT. Null when the binary has no
// --test-file.
function probeMulMatOp(bin, dir, env) {
  const path = join(dir, 'probe.txt');
  const lines = [];
  for (let op = 1; op < 64; op++) lines.push(testFileLine(op, 0, 4, 32, 2, { name: `op${op}` }));
  writeFileSync(path, lines.join('\n') + '\n');
  const r = run(bin, ['support', '-o', 'MUL_MAT', '-b', 'CPU', '--test-file', path], 'test-backend-ops support', env);
  const m = /MUL_MAT\(name=op(\d+),/.exec(stripAnsi(r.stdout));
  return r.status === 0 && m ? Number(m[1]) : null;
}

function qinferJson(args) {
  const r = run(process.execPath, [join(root, 'dist/cli/main.js'), 'bench', '--kernels', '--json', ...args], 'qinfer bench');
  if (r.status !== 0) throw new Error(`qinfer bench --kernels ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`qinfer bench printed no JSON:\n${r.stdout}`);
  return JSON.parse(line);
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** Table rows from the three sources of one run (exported for the tests). */
export function combine({ formats, shapes, batches, resident, fromMemory, llama, bandwidth }) {
  const out = [];
  for (const format of formats) {
    const ggml = ggmlTypeOf(format)[1];
    for (const [rows, cols] of shapes) {
      for (const batch of batches) {
        const q = resident.find((r) => r.op === 'matmul' && r.format === format && r.rows === rows && r.cols === cols && r.batch === batch);
        const l = llama.find((r) => r.format === ggml && r.rows === rows && r.cols === cols && r.batch === batch && r.supported);
        const mem = batch === 1 ? fromMemory.find((r) => r.op === 'matvec' && r.format === format && r.rows === rows && r.cols === cols) : undefined;
        const unit = batch === 1 ? 'GB/s' : 'GFLOP/s';
        // GB/s counts the weight bytes qinfer reports for the shape (the same bytes for both: the layouts are ggml's).
        const bytes = q ? (q.gbps * q.seconds * 1e9) : undefined;
        const fig = (seconds) => (batch === 1 ? bytes / seconds / 1e9 : (2 * rows * cols * batch) / seconds / 1e9);
        const qinfer = q ? fig(q.medianSeconds) : null;
        const llamaFig = l && bytes !== undefined ? fig(l.usPerRun / 1e6) : null;
        out.push({
          format: ggml, rows, cols, batch, unit,
          qinferResidentMedian: qinfer,
          qinferResidentBest: q ? fig(q.seconds) : null,
          llamaMean: llamaFig,
          ratio: qinfer !== null && llamaFig !== null ? qinfer / llamaFig : null,
          llamaRuns: l?.runs ?? null,
          qinferFromMemoryBestGBps: mem ? mem.gbps : null,
          qinferFromMemoryFraction: mem && bandwidth[format] ? mem.gbps / bandwidth[format] : null,
          readBandwidthGBps: bandwidth[format] ?? null,
        });
      }
    }
  }
  return out;
}

export function formatTable(rows, { threads }) {
  const f = (x, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));
  const out = [
    `| format | weight (rows x cols) | batch | unit | qinfer --resident, median | llama.cpp test-backend-ops, mean | qinfer / llama.cpp | qinfer from memory, best GB/s (of read bw) | read bw GB/s |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const mem = r.qinferFromMemoryBestGBps === null ? '' : `${f(r.qinferFromMemoryBestGBps)} (${Math.round(100 * r.qinferFromMemoryFraction)}%)`;
    const prec = r.unit === 'GB/s' ? 1 : 0;
    out.push(`| ${r.format} | ${r.rows}x${r.cols} | ${r.batch} | ${r.unit} | ${f(r.qinferResidentMedian, prec)} | ${f(r.llamaMean, prec)} | ${f(r.ratio, 2)} | ${mem} | ${f(r.readBandwidthGBps)} |`);
  }
  out.push('', `${threads} thread(s) each. Batch 1: GB/s of weights; larger batches: GFLOP/s. Both products reuse one weight`,
    'matrix (llama.cpp mean over >= 1 s of runs; qinfer --resident, median repetition). "from memory": qinfer cycling weight',
    'copies of 4x L3 (its default matrix-vector benchmark, best repetition); read bw: the best of qinfer\'s samples for that format.');
  return out.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      'test-backend-ops': { type: 'string' },
      formats: { type: 'string', default: 'q4_0,q8_0,q4_K,q6_K,f16' },
      shapes: { type: 'string', default: '4096x4096,4096x14336' },
      batches: { type: 'string', default: '1,4,16,64,256,512' },
      threads: { type: 'string' },
      'llama-preload': { type: 'string' },
      cases: { type: 'string', default: 'file' },
      'min-seconds': { type: 'string' },
      'no-from-memory': { type: 'boolean' },
      json: { type: 'boolean' },
      'json-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const bin = values['test-backend-ops'] ?? process.env.QINFER_TEST_BACKEND_OPS;
  if (!bin) throw new Error('give the test-backend-ops binary: --test-backend-ops PATH or QINFER_TEST_BACKEND_OPS (see --help for how to build it)');
  const formats = list(values.formats).map((f) => f.toLowerCase());
  formats.forEach(ggmlTypeOf);
  const shapes = list(values.shapes).map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s);
    if (!m) throw new Error(`--shapes: ${s} is not ROWSxCOLS`);
    return [Number(m[1]), Number(m[2])];
  });
  const batches = list(values.batches).map(Number);
  if (!batches.length || batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--batches: positive integers');
  const preload = values['llama-preload'];
  const threads = values.threads ? Number(values.threads) : defaultLlamaThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error('--threads: a positive integer');
  if (threads !== defaultLlamaThreads() && !preload)
    throw new Error(`--threads ${threads}: test-backend-ops runs the CPU backend with hardware_concurrency()/2 = ${defaultLlamaThreads()} thread(s) and has no option `
      + 'to change it; the comparison needs the same count for both: give --llama-preload (see --help) or leave --threads out');
  if (!['file', 'builtin'].includes(values.cases)) throw new Error('--cases: file or builtin');
  const log = (s) => console.error(s);

  const llamaEnv = preload ? { ...process.env, LD_PRELOAD: resolve(preload) } : process.env;
  const dir = mkdtempSync(join(tmpdir(), 'qinfer-peer-'));
  try {
    let mode = values.cases;
    let mulMatOp = null;
    if (mode === 'file') {
      mulMatOp = probeMulMatOp(bin, dir, llamaEnv);
      if (mulMatOp === null) {
        log('test-backend-ops has no usable --test-file: using its own perf cases (-p), which lack most shapes and batches');
        mode = 'builtin';
      } else log(`test-backend-ops: MUL_MAT is op ${mulMatOp} in this ggml build; cases from a --test-file`);
    }
    const started = new Date();
    const load = loadavg();
    const common = ['--threads', String(threads), ...(values['min-seconds'] ? ['--min-seconds', values['min-seconds']] : [])];
    const shapeArg = shapes.map(([r, c]) => `${r}x${c}`).join(',');
    const resident = [], fromMemory = [], llama = [], bandwidth = {};
    const llamaCommands = [];
    let cpuModel;
    for (const format of formats) {
      const [typeId, ggml] = ggmlTypeOf(format);
      // qinfer, like for like: one weight copy reused, matrix-matrix rows only (batch 1 included).
      const a = qinferJson(['--formats', format, '--shapes', shapeArg, '--batches', batches.join(','), '--isa', '', '--resident', ...common]);
      resident.push(...a.results);
      bandwidth[format] = a.bandwidthGBps;
      const isa = a.results[0]?.isa;
      log(`qinfer ${format} --resident (${isa}): ${a.results.map((r) => `${r.rows}x${r.cols}/${r.batch} ${(r.batch === 1 ? r.gbps : r.gflops).toFixed(1)}`).join(', ')}`);
      if (!values['no-from-memory'] && batches.includes(1)) {
        const b = qinferJson(['--formats', format, '--shapes', shapeArg, '--batches', '', '--isa', isa, ...common]);
        fromMemory.push(...b.results);
        bandwidth[format] = Math.max(bandwidth[format], b.bandwidthGBps);
        log(`qinfer ${format} from memory: ${b.results.map((r) => `${r.rows}x${r.cols} ${r.gbps.toFixed(1)} GB/s`).join(', ')}; read bandwidth ${bandwidth[format].toFixed(1)} GB/s`);
      }
      // llama.cpp, the same cases.
      let args;
      if (mode === 'file') {
        const path = join(dir, `${format}.txt`);
        const lines = shapes.flatMap(([r, c]) => batches.map((n) => testFileLine(mulMatOp, typeId, r, c, n, { ballast: ballastBytes(typeId, r, c, n) })));
        writeFileSync(path, lines.join('\n') + '\n');
        args = ['perf', '-o', 'MUL_MAT', '-b', 'CPU', '--test-file', path];
      } else args = ['perf', '-o', 'MUL_MAT', '-b', 'CPU', '-p', builtinFilter([ggml], shapes, batches)];
      llamaCommands.push([...(preload ? [`LD_PRELOAD=${resolve(preload)}`] : []), bin, ...args].join(' '));
      const r = run(bin, args, 'test-backend-ops perf', llamaEnv);
      if (r.status !== 0) throw new Error(`test-backend-ops ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
      cpuModel ??= /Device description: (.*)/.exec(stripAnsi(r.stdout))?.[1]?.trim();
      const got = parseTestBackendOpsPerf(r.stdout).filter((x) => x.format === ggml);
      llama.push(...got);
      log(`llama.cpp ${ggml}: ${got.map((x) => `${x.rows}x${x.cols}/${x.batch} ${x.supported ? `${x.usPerRun} us` : 'not supported'}`).join(', ')}`);
    }
    const loadEnd = loadavg();
    const rows = combine({ formats, shapes, batches, resident, fromMemory, llama, bandwidth });
    const report = {
      started: started.toISOString(), finished: new Date().toISOString(), loadAverage: load, loadAverageEnd: loadEnd, threads, llamaPreload: preload ?? null, cases: mode, testBackendOps: bin, llamaCommands, cpu: cpuModel ?? cpus()[0]?.model,
      rows, qinferResident: resident, qinferFromMemory: fromMemory, llama,
    };
    if (values['json-file']) writeFileSync(values['json-file'], JSON.stringify(report, null, 1) + '\n');
    if (values.json) console.log(JSON.stringify(report));
    else {
      const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
      console.log(`${report.started} to ${report.finished}, load average ${la(load)} at the start, ${la(loadEnd)} at the end; ${report.cpu}`);
      console.log(formatTable(rows, { threads }));
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    process.exitCode = await main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  }
}
