#!/usr/bin/env node
// Quality table of the quantization methods on one model: each recipe quantized by `qinfer quantize` in its own
// process (so its peak memory is its own), then scored by `qinfer eval --reference` against the source model.
// Usage: node scripts/quant-eval.mjs --model <f32.gguf> --calibration <text> --tokens <val.npy> [--windows N]
//          [--calibration-tokens N] [--out results.json] [--recipes rtn:q4_0,gptq:q4_0,...] [--dir <work dir>]
// Writes the JSON results and prints a Markdown table; scripts/quant-plot.mjs draws KL divergence vs bits per weight.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    calibration: { type: 'string' },
    tokens: { type: 'string' },
    windows: { type: 'string', default: '195' },
    'calibration-tokens': { type: 'string', default: '16384' },
    out: { type: 'string', default: 'quant-eval.json' },
    recipes: { type: 'string' },
    dir: { type: 'string', default: '/tmp/qinfer-quant-eval' },
    keep: { type: 'boolean' },
  },
});
if (!values.model || !values.calibration || !values.tokens) {
  console.error('usage: node scripts/quant-eval.mjs --model <f32.gguf> --calibration <text> --tokens <val.npy> [--windows N] [--recipes m:f,...]');
  process.exit(2);
}
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const methods = ['rtn', 'imatrix', 'gptq', 'awq', 'awq+gptq'];
const formats = ['q8_0 --pure', 'q5_0 --pure', 'q4_k_m', 'q4_0 --pure', 'q3_k_m', 'q2_k'];
const recipes = values.recipes
  ? values.recipes.split(',').map((r) => r.split(':'))
  : formats.flatMap((f) => methods.map((m) => [m, f]));
mkdirSync(values.dir, { recursive: true });

function run(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`qinfer ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const results = [];
for (const [method, format] of recipes) {
  const [name, ...flags] = format.split(' ');
  const output = join(values.dir, `${method}-${name}${flags.length ? '-pure' : ''}.gguf`);
  const q = run([
    'quantize', values.model, '-o', output, '--format', name, ...flags, '--method', method,
    '--calibration', values.calibration, '--calibration-tokens', values['calibration-tokens'], '--json',
  ]);
  const e = run(['eval', output, '--reference', values.model, '--tokens', values.tokens, '--max-windows', values.windows, '--json']);
  const row = {
    method, format, bitsPerWeight: q.bitsPerWeight, bytes: q.bytes, perplexity: e.perplexity, kld: e.kld.mean, kldP99: e.kld.p99,
    top1: e.top1, seconds: q.seconds, peakRssBytes: q.peakRssBytes,
  };
  results.push(row);
  console.error(JSON.stringify(row));
  if (!values.keep) rmSync(output, { force: true });
  writeFileSync(values.out, JSON.stringify({ model: values.model, windows: Number(values.windows), results }, null, 2));
}
const MB = 1024 * 1024;
console.log('| format | method | bits/weight | size (MB) | perplexity | mean KL | p99 KL | top-1 | time (s) | peak RSS (MB) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.format} | ${r.method} | ${r.bitsPerWeight.toFixed(3)} | ${(r.bytes / MB).toFixed(1)} | ${r.perplexity.toFixed(3)} | ${r.kld.toFixed(4)} | ` +
      `${r.kldP99.toFixed(3)} | ${r.top1.toFixed(3)} | ${r.seconds.toFixed(1)} | ${(r.peakRssBytes / MB).toFixed(0)} |`,
  );
}
