#!/usr/bin/env node
// Quality table of the quantization methods on one model: each recipe quantized by `qinfer quantize` in its own
// process (so its peak memory is its own), then every file scored in one pass over the same windows against the
// source model (evaluateModels: the reference's logits computed once per window), the results rewritten after
// every window so a run stopped early still holds all rows over the same windows.
// Usage: node scripts/quant-eval.mjs --model <f32.gguf> --calibration <text> --tokens <val.npy> [--windows N]
//          [--calibration-tokens N] [--out results.json] [--recipes rtn:q4_0,gptq:q4_0 --pure,...]
//          [--files extra.json] [--dir <work dir>] [--no-eval] [--first-window N]
//        node scripts/quant-eval.mjs --table results.json [more.json ...] [--merged merged.json]
// --first-window splits one evaluation over processes (windows N .. N + --windows - 1); --table merges runs of
// the same rows over disjoint windows: mean KL, top-1 and log-perplexity exactly (weighted by windows), p99 KL as
// the window-weighted mean of the runs' p99s (an approximation, marked p99≈ in the table).
// --files: quantized files made elsewhere (e.g. by llama.cpp), a JSON array of {method, format, path, seconds?,
// peakRssBytes?}. Quantized files and their `qinfer quantize --json` reports stay in --dir and are reused, so
// --no-eval (quantize only) and a later run with more recipes or files share the work.
// scripts/quant-plot.mjs draws KL divergence vs bits per weight from the results.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string' },
    calibration: { type: 'string' },
    tokens: { type: 'string' },
    windows: { type: 'string', default: '195' },
    'calibration-tokens': { type: 'string', default: '16384' },
    out: { type: 'string', default: 'quant-eval.json' },
    recipes: { type: 'string' },
    files: { type: 'string' },
    dir: { type: 'string', default: '/tmp/qinfer-quant-eval' },
    table: { type: 'boolean' },
    'no-eval': { type: 'boolean' },
    'first-window': { type: 'string', default: '0' },
    merged: { type: 'string' },
  },
});

const MB = 1024 * 1024;
// "q3_32 --tensor-type token_embd.weight=q8_0" -> "q3_32, token_embd q8_0"; "q4_0 --pure" -> "q4_0 (pure)".
const label = (format) => format.replace(' --pure', ' (pure)').replace(/ --tensor-type (\S+?)(\.weight)?=(\S+)/g, ', $1 $3');
function printTable(rows) {
  console.log('| format | method | bits/weight | size (MB) | windows | perplexity | mean KL | p99 KL | top-1 | time (s) | peak RSS (MB) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const num = (v, digits, scale = 1) => (v === undefined ? '—' : (v / scale).toFixed(digits));
  for (const r of [...rows].sort((a, b) => b.bitsPerWeight - a.bitsPerWeight || a.kld - b.kld)) {
    console.log(
      `| ${label(r.format)} | ${r.method} | ${r.bitsPerWeight.toFixed(3)} | ${num(r.bytes, 1, MB)} | ${r.windows ?? '—'} | ${r.perplexity.toFixed(3)} | ${r.kld.toFixed(4)} | ` +
        `${r.p99Approximate ? '≈' : ''}${r.kldP99.toFixed(3)} | ${r.top1.toFixed(3)} | ${num(r.seconds, 1)} | ${num(r.peakRssBytes, 0, MB)} |`,
    );
  }
}

// Rows of the same method and format from runs over disjoint windows, combined by window count.
function merge(runs) {
  const groups = new Map();
  for (const run of runs) {
    for (const r of run.results) {
      const key = `${r.method}|${r.format}`;
      groups.set(key, [...(groups.get(key) ?? []), { ...r, windows: run.windows }]);
    }
  }
  return [...groups.values()].map((rows) => {
    const n = rows.reduce((a, r) => a + r.windows, 0);
    const mean = (f) => rows.reduce((a, r) => a + f(r) * r.windows, 0) / n;
    return {
      ...rows[0], windows: n, kld: mean((r) => r.kld), top1: mean((r) => r.top1), perplexity: Math.exp(mean((r) => Math.log(r.perplexity))),
      kldP99: mean((r) => r.kldP99), p99Approximate: rows.length > 1,
    };
  });
}

if (values.table) {
  const runs = positionals.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  for (const [i, r] of runs.entries()) console.error(`${positionals[i]}: windows ${r.firstWindow ?? 0}..${(r.firstWindow ?? 0) + r.windows - 1}, ${r.results.length} rows`);
  const rows = merge(runs);
  if (values.merged) writeFileSync(values.merged, JSON.stringify({ runs: positionals, results: rows }, null, 2));
  printTable(rows);
  process.exit(0);
}
if (!values.model || !values.tokens || (!values.recipes && !values.files)) {
  console.error('usage: node scripts/quant-eval.mjs --model <f32.gguf> --calibration <text> --tokens <val.npy> [--windows N] (--recipes m:f,... | --files extra.json)');
  process.exit(2);
}

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const { loadModel, readGguf } = await import(join(root, 'dist', 'index.js'));
const { evaluateModels } = await import(join(root, 'dist', 'eval.js'));
const { readTokenFile } = await import(join(root, 'dist', 'token-file.js'));
mkdirSync(values.dir, { recursive: true });

function quantize(method, format) {
  const [name, ...flags] = format.split(' ');
  const base = join(values.dir, `${method}-${name}${flags.length ? `-${flags.join('').replace(/[^a-z0-9_.=]/gi, '')}` : ''}`);
  const report = `${base}.json`;
  if (existsSync(report) && existsSync(`${base}.gguf`)) return JSON.parse(readFileSync(report, 'utf8'));
  const args = [
    'quantize', values.model, '-o', `${base}.gguf`, '--format', name, ...flags, '--method', method,
    ...(method === 'rtn' ? [] : ['--calibration', values.calibration, '--calibration-tokens', values['calibration-tokens']]), '--json',
  ];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`qinfer ${args.join(' ')} failed: ${r.stderr}`);
  writeFileSync(report, r.stdout);
  return JSON.parse(r.stdout);
}

const entries = [];
for (const [method, format] of (values.recipes ?? '').split(',').filter(Boolean).map((r) => r.split(':'))) {
  const q = quantize(method, format);
  entries.push({ method, format, path: q.output, bitsPerWeight: q.bitsPerWeight, bytes: q.bytes, seconds: q.seconds, peakRssBytes: q.peakRssBytes });
  console.error(`quantized ${method} ${format}: ${q.bitsPerWeight.toFixed(3)} bpw in ${q.seconds.toFixed(1)} s`);
}
for (const f of values.files ? JSON.parse(readFileSync(values.files, 'utf8')) : []) {
  const g = await readGguf(f.path);
  let elements = 0;
  let bytes = 0;
  for (const t of g.tensors) {
    elements += t.shape.reduce((a, b) => a * b, 1);
    bytes += t.bytes;
  }
  entries.push({ ...f, bitsPerWeight: (bytes * 8) / elements, bytes: statSync(f.path).size });
}

if (values['no-eval']) process.exit(0);
const firstWindow = Number(values['first-window']);
const tokens = (await readTokenFile(values.tokens)).subarray(firstWindow * 512);
const open = (p) => loadModel(p, { contextSize: 512, sequences: 1 });
const reference = await open(values.model);
const models = [];
for (const e of entries) models.push(await open(e.path));
const t0 = performance.now();
const save = (results) => {
  const rows = entries.map((e, i) => ({
    windows: results[i].windows, method: e.method, format: e.format, bitsPerWeight: e.bitsPerWeight, bytes: e.bytes, perplexity: results[i].perplexity,
    kld: results[i].kld.mean, kldP99: results[i].kld.p99, top1: results[i].top1, seconds: e.seconds, peakRssBytes: e.peakRssBytes,
  }));
  const windows = results[0].windows;
  writeFileSync(values.out, JSON.stringify({ model: values.model, firstWindow, windows, referencePerplexity: results[0].referencePerplexity, results: rows }, null, 2));
  console.error(`${windows} windows scored (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return rows;
};
const results = await evaluateModels(models, tokens, { reference, maxWindows: Number(values.windows), onWindow: save });
printTable(save(results));
for (const m of [...models, reference]) m.close();
