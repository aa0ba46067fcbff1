// llama.cpp's answer for token-id prompts (node-llama-cpp, CPU): full logits of every prompt position and the greedy continuation.
// Runs as its own process so llama.cpp's aborts and threads stay out of the test runner; one thread,
// because llama.cpp's spinning worker threads crawl on a loaded 2-core machine.
// Usage: node llama-cpp-eval.mjs <model.gguf> <prompts.json: [[ids...], ...]> <continuation length> <out.bin> [F16|F32 KV cache]
// Writes to out.bin, per prompt, the logits [positions, vocab] as little-endian float32, and prints
// {"vocab": n, "continuations": [[ids...], ...]} on stdout.
import { writeFileSync, readFileSync } from 'node:fs';

import { LlamaLogLevel, getLlama } from 'node-llama-cpp';

const [modelPath, promptsFile, nStr, outPath, kvCache = 'F16'] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsFile, 'utf8'));
const n = Number(nStr);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
  contextSize: 512,
  sequences: 1,
  threads: 1,
  experimentalKvCacheKeyType: kvCache,
  experimentalKvCacheValueType: kvCache,
});
const sequence = context.getSequence();
const chunks = [];
const continuations = [];
let nVocab = 0;
for (const ids of prompts) {
  await sequence.clearHistory();
  const results = await sequence.controlledEvaluate(ids.map((t) => [t, { generateNext: { logits: true } }]));
  for (const r of results) {
    const logits = r.next.logits;
    nVocab = Math.max(nVocab, logits.size);
    const row = new Float32Array(logits.size);
    for (const [token, value] of logits) row[token] = value;
    chunks.push(Buffer.from(row.buffer));
  }
  await sequence.clearHistory();
  const out = [];
  for await (const t of sequence.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
    out.push(t);
    if (out.length >= n) break;
  }
  continuations.push(out);
}
writeFileSync(outPath, Buffer.concat(chunks));
console.log(JSON.stringify({ vocab: nVocab, continuations }));
await context.dispose();
await model.dispose();
await llama.dispose();
