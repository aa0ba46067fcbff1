#!/usr/bin/env node
// Quantization error of every qinfer format on the fixture model's weights, with and without importance
// weights, optionally side by side with another quantizer's dequantized output of the same rows.
//
//   node scripts/format-error.mjs [--rows-per-tensor N] [--dump DIR] [--compare DIR [--write-reference F]] [--json]
//
// --dump DIR writes DIR/input.f32 (the rows, 1024 columns each) and DIR/imatrix.f32 (one importance per
// column) so an external quantizer (e.g. one built on llama.cpp's ggml_quantize_chunk) can process the
// same data; --compare DIR then reads its dequantized DIR/<format>.f32 and DIR/<format>-imatrix.f32, and
// --write-reference F records those errors for test/quant/error-vs-llama-cpp.test.ts.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { seededUniform } from './seeded-random.mjs';

const root = new URL('..', import.meta.url).pathname;
export const fixtureModel = join(root, '../shared/fixtures/models/gcide-llama-25m/model.safetensors');

/** The quantized weight formats compared (ggml names and type ids). */
export const weightFormats = [
  ['q8_0', 8], ['q5_1', 7], ['q5_0', 6], ['q4_1', 3], ['q4_0', 2], ['iq4_nl', 20],
  ['q6_K', 14], ['q5_K', 13], ['q4_K', 12], ['iq4_xs', 23], ['q3_K', 11], ['q2_K', 10],
];

/**
 * The first `rowsPerTensor` rows of each layer's mlp.down_proj (384 x 1024, bf16): the fixture tensors
 * whose rows every format (256-element super-blocks included) can take. `readSafetensors` is qinfer's
 * header reader (lib/safetensors.ts), passed in so tests and this script each use their own build.
 */
export async function loadFixtureRows(readSafetensors, rowsPerTensor = Infinity, path = fixtureModel) {
  const file = await readSafetensors(path);
  const cols = 1024;
  const tensors = file.tensors
    .filter((t) => /^model\.layers\.\d+\.mlp\.down_proj\.weight$/.test(t.name))
    .sort((a, c) => (a.name < c.name ? -1 : 1));
  const fd = openSync(path, 'r');
  const chunks = [];
  for (const t of tensors) {
    if (t.dtype !== 'BF16' || t.shape[1] !== cols) throw new Error(`unexpected ${t.name}: ${t.dtype} ${t.shape}`);
    const rows = Math.min(rowsPerTensor, t.shape[0]);
    const bytes = Buffer.alloc(rows * cols * 2);
    readSync(fd, bytes, 0, bytes.length, t.offset);
    const f = new Float32Array(rows * cols);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < f.length; i++) u[i] = bytes.readUInt16LE(2 * i) << 16;
    chunks.push(f);
  }
  closeSync(fd);
  const x = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    x.set(c, off);
    off += c.length;
  }
  return { x, cols, rows: x.length / cols, tensors: tensors.length };
}

/**
 * A stand-in for calibration statistics (mean squared activation per input column): log-normal with a
 * few strong outlier channels, as real imatrix files look. Seeded, so every tool sees the same one.
 */
export function syntheticImatrix(cols, seed = 12345) {
  const next = seededUniform(seed);
  const im = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    const gauss = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    im[j] = Math.exp(gauss) * (next() < 0.01 ? 30 : 1);
  }
  return im;
}

/** RMS error, and the importance-weighted RMS error sqrt(sum_ij im_j e_ij^2 / (rows sum_j im_j)). */
export function errors(x, y, cols, imatrix) {
  let se = 0;
  let swe = 0;
  let sw = 0;
  for (let j = 0; j < cols; j++) sw += imatrix[j];
  for (let i = 0; i < x.length; i++) {
    const e = (x[i] - y[i]) ** 2;
    se += e;
    swe += imatrix[i % cols] * e;
  }
  return { rmse: Math.sqrt(se / x.length), weightedRmse: Math.sqrt(swe / ((x.length / cols) * sw)) };
}

/** qinfer's errors for one format: round-to-nearest (plain RMSE) and importance-weighted (weighted RMSE). */
export function measureQinfer(binding, type, data, imatrix) {
  const { x, cols } = data;
  const rtn = binding.dequantizeRows(type, binding.quantizeRows(type, x, cols), x.length);
  const weighted = binding.dequantizeRows(type, binding.quantizeRows(type, x, cols, imatrix), x.length);
  return { rmse: errors(x, rtn, cols, imatrix).rmse, weightedRmse: errors(x, weighted, cols, imatrix).weightedRmse };
}

function readF32(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (!existsSync(fixtureModel)) throw new Error(`fixture model not found at ${fixtureModel}`);
  const { native } = await import('../dist/binding.js');
  const { readSafetensors } = await import('../dist/safetensors.js');
  const b = native();
  const data = await loadFixtureRows(readSafetensors, Number(opt('--rows-per-tensor') ?? Infinity));
  const imatrix = syntheticImatrix(data.cols);
  const dump = opt('--dump');
  if (dump) {
    mkdirSync(dump, { recursive: true });
    writeFileSync(join(dump, 'input.f32'), data.x);
    writeFileSync(join(dump, 'imatrix.f32'), imatrix);
  }
  const compare = opt('--compare');
  const results = [];
  for (const [name, type] of weightFormats) {
    const q = measureQinfer(b, type, data, imatrix);
    const r = { format: name, qinfer: q };
    if (compare) {
      const plain = readF32(join(compare, `${name}.f32`));
      const weighted = readF32(join(compare, `${name}-imatrix.f32`));
      r.other = {
        rmse: errors(data.x, plain, data.cols, imatrix).rmse,
        weightedRmse: errors(data.x, weighted, data.cols, imatrix).weightedRmse,
      };
    }
    results.push(r);
  }
  const out = { rows: data.rows, cols: data.cols, tensors: data.tensors, results };
  const reference = opt('--write-reference');
  if (reference) {
    const rowsPerTensor = Number(opt('--rows-per-tensor') ?? Infinity);
    const errs = Object.fromEntries(results.map((r) => [r.format, r.other]));
    writeFileSync(reference, `${JSON.stringify({ rowsPerTensor, imatrixSeed: 12345, errors: errs }, null, 1)}\n`);
  }
  if (args.includes('--json')) {
    console.log(JSON.stringify(out, null, 1));
    return;
  }
  const f = (v) => (v === undefined ? '-' : (v * 1e3).toFixed(4));
  const ratio = (a, c) => (c === undefined ? '-' : (a / c).toFixed(3));
  console.log(`${data.rows} rows x ${data.cols} columns of ${data.tensors} tensors; errors x 1e-3`);
  console.log('| format | RMSE qinfer | RMSE other | ratio | weighted RMSE qinfer (imatrix) | weighted RMSE other (imatrix) | ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.format} | ${f(r.qinfer.rmse)} | ${f(r.other?.rmse)} | ${ratio(r.qinfer.rmse, r.other?.rmse)} | ` +
        `${f(r.qinfer.weightedRmse)} | ${f(r.other?.weightedRmse)} | ${ratio(r.qinfer.weightedRmse, r.other?.weightedRmse)} |`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
