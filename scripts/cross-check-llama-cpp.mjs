#!/usr/bin/env node
// qinfer against llama.cpp (node-llama-cpp, CPU) on the same GGUF files: tokenization of text slices,
// greedy continuations of token prompts, and the two programs' next-token distributions at every step
// of llama.cpp's continuation (logit difference, KL divergence, where the greedy choices part).
// Usage (after `npm run compile`):
//   node scripts/cross-check-llama-cpp.mjs (--model a.gguf ... | --random small|tinyllama [--types f32,f16,q8_0,q4_0] [--dir D])
//        [--prompts 20] [--prompt-tokens 64] [--steps 16] [--text README.md] [--threads 2] [--llama-threads 1] [--json]
// llama.cpp gets one thread by default: its spinning workers crawl when the machine is loaded.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

import { loadModel } from '../dist/model.js';
import { readGguf } from '../dist/gguf.js';
import { SHAPES, writeRandomLlama } from './cross-check/random-llama.mjs';

const root = resolve(import.meta.dirname, '..');

/** `count` slices of `text`, each starting at a line start and long enough for `minChars`. */
export function textSlices(text, count, minChars) {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - minChars; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const usable = starts.filter((s) => s + minChars <= text.length);
  if (usable.length < count) throw new Error(`the text is too short for ${count} slices of ${minChars} characters`);
  return Array.from({ length: count }, (_, k) => {
    const s = usable[Math.floor((k * usable.length) / count)];
    return text.slice(s, s + minChars);
  });
}

function logSoftmax(row) {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

function argmax(row) {
  let best = 0;
  for (let t = 1; t < row.length; t++) if (row[t] > row[best]) best = t;
  return best;
}

function maxDiff(a, b) {
  let d = 0;
  for (let t = 0; t < a.length; t++) d = Math.max(d, Math.abs(a[t] - b[t]));
  return d;
}

function maxAbs(row) {
  let m = 0;
  for (const v of row) m = Math.max(m, Math.abs(v));
  return m;
}

async function llamaCppSide(job) {
  const dir = mkdtempSync(join(tmpdir(), 'qinfer-cross-'));
  try {
    const jobFile = join(dir, 'job.json'), out = join(dir, 'logits.bin'), batchOut = join(dir, 'batch-logits.bin');
    writeFileSync(jobFile, JSON.stringify(job));
    // The test runner's IPC channel must not leak into the child.
    const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...env } = process.env;
    const script = join(root, 'scripts/cross-check/llama-cpp-side.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, jobFile, out, batchOut], { env, maxBuffer: 1 << 26 });
    const answer = JSON.parse(stdout);
    const rows = (file) => {
      const all = new Float32Array(readFileSync(file).buffer.slice(0));
      return job.prompts.map((_, p) => Array.from({ length: job.steps }, (_, s) => all.subarray((p * job.steps + s) * answer.vocab, (p * job.steps + s + 1) * answer.vocab)));
    };
    answer.logits = rows(out);
    answer.batchLogits = rows(batchOut);
    return answer;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares qinfer with llama.cpp on one GGUF file. */
export async function crossCheck(path, { texts, promptTokens = 64, steps = 16, threads = 2, llamaThreads = 1 }) {
  const file = await readGguf(path);
  const f32 = file.tensors.filter((t) => t.shape.length > 1).every((t) => t.type === 0);
  const model = await loadModel(path, { threads, contextSize: promptTokens + steps + 1 });
  try {
    const bos = model.tokenizer.bosId;
    const ours = texts.map((t) => model.tokenize(t, { addBos: false }));
    const prompts = ours.map((ids) => [bos, ...ids.slice(0, promptTokens - 1)]);
    if (prompts.some((p) => p.length < promptTokens)) throw new Error(`a text has fewer than ${promptTokens - 1} tokens`);
    const t0 = performance.now();
    // qinfer keeps an F32 model's KV cache in F32 and others in F16: llama.cpp gets the same.
    const theirs = await llamaCppSide({ model: resolve(path), texts, prompts, steps, threads: llamaThreads, kvCache: f32 ? 'F32' : 'F16' });
    const llamaSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const tokenMismatches = texts.flatMap((t, i) => (JSON.stringify(ours[i]) === JSON.stringify(theirs.tokens[i]) ? [] : [i]));
    const kls = [], errors = [], divergences = [], greedy = [], selfErrors = [], selfPartings = [];
    for (const [p, prompt] of prompts.entries()) {
      const continuation = theirs.continuations[p];
      const forced = await model.evaluate([...prompt, ...continuation.slice(0, -1)], { logits: 'all' });
      const V = model.vocabularySize;
      for (let s = 0; s < steps; s++) {
        const a = forced.subarray((prompt.length - 1 + s) * V, (prompt.length + s) * V), b = theirs.logits[p][s];
        const error = maxDiff(a, b) / maxAbs(b);
        errors.push(error);
        // llama.cpp's batched rows for the same step against its one-token rows.
        const c = theirs.batchLogits[p][s];
        selfErrors.push(maxDiff(c, b) / maxAbs(b));
        const batched = argmax(c), stepped = argmax(b);
        if (batched !== stepped) selfPartings.push({ prompt: p, step: s, gap: (c[batched] - c[stepped]) / maxAbs(c) });
        const la = logSoftmax(a), lb = logSoftmax(b);
        let kl = 0;
        for (let t = 0; t < V; t++) kl += Math.exp(lb[t]) * (lb[t] - la[t]);
        kls.push(Math.max(kl, 0));
        const mine = argmax(a), chosen = continuation[s];
        if (mine !== chosen) {
          // How far apart the two tokens are in each program, relative to that row's largest logit.
          divergences.push({ prompt: p, step: s, qinfer: mine, llamaCpp: chosen, gapQinfer: (a[mine] - a[chosen]) / maxAbs(a), gapLlamaCpp: (b[chosen] - b[mine]) / maxAbs(b), logitError: error });
        }
      }
      const own = (await model.generate(prompt, { maxTokens: steps, ignoreEog: true }).summary).tokens;
      const first = own.findIndex((t, s) => t !== continuation[s]);
      greedy.push(first);
    }
    kls.sort((x, y) => x - y);
    errors.sort((x, y) => x - y);
    selfErrors.sort((x, y) => x - y);
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    return {
      model: basename(path),
      weights: f32 ? 'f32' : file.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.typeName,
      prompts: prompts.length,
      promptTokens,
      steps,
      tokenization: { texts: texts.length, identical: texts.length - tokenMismatches.length, mismatches: tokenMismatches },
      greedy: { identical: greedy.filter((f) => f < 0).length, firstDivergence: greedy },
      top1: 1 - divergences.length / kls.length,
      divergences,
      kld: { mean: mean(kls), p99: kls[Math.floor(0.99 * (kls.length - 1))], max: kls[kls.length - 1] },
      logitError: { mean: mean(errors), median: errors[errors.length >> 1], max: errors[errors.length - 1] },
      // llama.cpp against itself: the same steps evaluated as one batch instead of one token at a time.
      llamaCppSelf: { logitError: { median: selfErrors[selfErrors.length >> 1], max: selfErrors[selfErrors.length - 1] }, partings: selfPartings },
      seconds: { llamaCpp: llamaSeconds, qinfer: (performance.now() - t1) / 1000 },
    };
  } finally {
    model.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      random: { type: 'string' },
      types: { type: 'string', default: 'f32,f16,q8_0,q4_0' },
      dir: { type: 'string' },
      prompts: { type: 'string', default: '20' },
      'prompt-tokens': { type: 'string', default: '64' },
      steps: { type: 'string', default: '16' },
      text: { type: 'string', default: join(root, 'README.md') },
      threads: { type: 'string', default: '2' },
      'llama-threads': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const promptTokens = Number(values['prompt-tokens']);
  const texts = textSlices(readFileSync(values.text, 'utf8'), Number(values.prompts), promptTokens * 8);
  const options = { texts, promptTokens, steps: Number(values.steps), threads: Number(values.threads), llamaThreads: Number(values['llama-threads']) };
  const temp = values.random && !values.dir ? mkdtempSync(join(tmpdir(), 'qinfer-random-')) : undefined;
  const models = [...(values.model ?? [])];
  try {
    if (values.random) {
      const shape = SHAPES[values.random];
      if (!shape) throw new Error(`--random takes ${Object.keys(SHAPES).join(' or ')}`);
      for (const type of values.types.split(',')) {
        const path = join(values.dir ?? temp, `random-${values.random}-${type}.gguf`);
        await writeRandomLlama({ path, type, shape, vocabGguf: join(root, 'test/fixtures/vocab/ggml-vocab-llama-spm.gguf.gz') });
        models.push(path);
      }
    }
    const results = [];
    for (const m of models) {
      const r = await crossCheck(m, options);
      results.push(r);
      if (!values.json) {
        const gaps = r.divergences.map((d) => d.gapQinfer);
        console.log(
          `${r.model}: tokenization ${r.tokenization.identical}/${r.tokenization.texts} identical, greedy ${r.greedy.identical}/${r.prompts} identical over ${r.steps} steps, ` +
            `top-1 ${(100 * r.top1).toFixed(2)}%, largest top-two gap where they part ${gaps.length ? Math.max(...gaps).toExponential(2) : '-'}, ` +
            `KL mean ${r.kld.mean.toExponential(2)} p99 ${r.kld.p99.toExponential(2)}, logit difference median ${r.logitError.median.toExponential(2)} max ${r.logitError.max.toExponential(2)}; ` +
            `llama.cpp batch vs one-token: logit difference max ${r.llamaCppSelf.logitError.max.toExponential(2)}, parts at ${r.llamaCppSelf.partings.length} steps, ` +
            `gaps up to ${Math.max(0, ...r.llamaCppSelf.partings.map((d) => d.gap)).toExponential(2)} ` +
            `(${r.seconds.llamaCpp.toFixed(0)} s llama.cpp, ${r.seconds.qinfer.toFixed(0)} s qinfer)`,
        );
      }
    }
    if (values.json) console.log(JSON.stringify(results));
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
