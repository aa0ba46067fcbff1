// llama.cpp's side of the cross-check (node-llama-cpp, CPU), run as its own process: tokenizes texts and
// continues token-id prompts greedily, one token per evaluation, keeping each step's full logits row;
// then evaluates each prompt with its continuation again as one batch, whose rows for the same steps
// come from llama.cpp's batched kernels: how far llama.cpp is from itself.
// Usage: node llama-cpp-side.mjs <job.json> <logits.bin> <batch-logits.bin>
//   job.json: {model, texts: [string], prompts: [[ids]], steps, kvCache: "F16"|"F32", threads}
// Writes per prompt, per step, the logits row as little-endian float32 to logits.bin (one-token steps)
// and to batch-logits.bin (one batch), and prints
// {"vocab": n, "tokens": [[ids of each text, no BOS]], "continuations": [[ids]]} on stdout.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

import { LlamaLogLevel, getLlama } from 'node-llama-cpp';

const [jobFile, outPath, batchPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: job.model });
const context = await model.createContext({
  contextSize: Math.max(...job.prompts.map((p) => p.length)) + job.steps + 1,
  sequences: 1,
  threads: job.threads,
  experimentalKvCacheKeyType: job.kvCache,
  experimentalKvCacheValueType: job.kvCache,
});
const sequence = context.getSequence();
const tokens = job.texts.map((t) => Array.from(model.tokenize(t)));
const out = openSync(outPath, 'w');
const continuations = [];
let vocab = 0;
for (const prompt of job.prompts) {
  await sequence.clearHistory();
  const continuation = [];
  let feed = prompt;
  for (let s = 0; s < job.steps; s++) {
    const results = await sequence.controlledEvaluate(feed.map((t, i) => (i === feed.length - 1 ? [t, { generateNext: { logits: true } }] : t)));
    const logits = results[feed.length - 1].next.logits;
    vocab = Math.max(vocab, logits.size);
    const row = new Float32Array(logits.size);
    for (const [token, value] of logits) row[token] = value;
    let best = 0;
    for (let t = 1; t < row.length; t++) if (row[t] > row[best]) best = t;
    writeSync(out, new Uint8Array(row.buffer));
    continuation.push(best);
    feed = [best];
  }
  continuations.push(continuation);
}
closeSync(out);
const batchOut = openSync(batchPath, 'w');
for (const [p, prompt] of job.prompts.entries()) {
  await sequence.clearHistory();
  const ids = [...prompt, ...continuations[p].slice(0, -1)];
  const results = await sequence.controlledEvaluate(ids.map((t, i) => (i >= prompt.length - 1 ? [t, { generateNext: { logits: true } }] : t)));
  for (let i = prompt.length - 1; i < ids.length; i++) {
    const row = new Float32Array(vocab);
    for (const [token, value] of results[i].next.logits) row[token] = value;
    writeSync(batchOut, new Uint8Array(row.buffer));
  }
}
closeSync(batchOut);
console.log(JSON.stringify({ vocab, tokens, continuations }));
await context.dispose();
await model.dispose();
await llama.dispose();
