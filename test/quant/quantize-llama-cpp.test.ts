// Files that quantize() writes in ggml formats load in llama.cpp (node-llama-cpp, CPU) and give the same greedy
// tokens there as in qinfer: gcide-llama-25m as q4_k_m (q4_K, q5_0, q6_K, q8_0 tensors) and q2_k (q2_K, q3_K, q4_0).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/model.js';
import { quantize } from '../../lib/quantize.js';

const gcide = resolve(import.meta.dirname, '../../../shared/fixtures/models/gcide-llama-25m');
const have = existsSync(join(gcide, 'model.safetensors'));
if (!have) console.log(`skipping the llama.cpp checks of quantized files: ${gcide} is absent`);
const dir = mkdtempSync(join(tmpdir(), 'qinfer-quant-llama-cpp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STEPS = 16;
// Where qinfer's logit of llama.cpp's token is within this fraction of the row's largest |logit| of its best, either
// token is a faithful greedy choice: on these files the two programs' logits differ by up to 2-5% of that scale
// (0.05% on the F32 file), so near-ties can break either way.
const TIE = 0.05;

describe.skipIf(!have)('quantized gcide-llama-25m in llama.cpp', () => {
  const reference = have
    ? (JSON.parse(readFileSync(join(gcide, 'reference.json'), 'utf8')) as { prompts: { ids: number[] }[] })
    : { prompts: [] };
  for (const format of ['q4_k_m', 'q2_k']) {
    it(`${format}: llama.cpp's greedy tokens are qinfer's greedy tokens`, async () => {
      const output = join(dir, `${format}.gguf`);
      await quantize({ input: gcide, output, recipe: { format } });
      const prompts = reference.prompts.map((p) => p.ids);
      const promptsFile = join(dir, 'prompts.json');
      writeFileSync(promptsFile, JSON.stringify(prompts));
      const script = resolve(import.meta.dirname, '../helpers/llama-cpp-eval.mjs');
      const { stdout } = await promisify(execFile)(process.execPath, [script, output, promptsFile, String(STEPS), join(dir, 'logits.bin')], {
        maxBuffer: 1 << 26,
      });
      const { vocab, continuations } = JSON.parse(stdout) as { vocab: number; continuations: number[][] };
      const model = await loadModel(output, { threads: 2 });
      try {
        for (const [i, p] of prompts.entries()) {
          const continuation = continuations[i]!;
          expect(continuation).toHaveLength(STEPS);
          // One causal pass over the prompt and llama.cpp's continuation scores every greedy step in qinfer.
          const logits = await model.evaluate([...p, ...continuation.slice(0, -1)], { logits: 'all' });
          continuation.forEach((token, step) => {
            const row = logits.subarray((p.length - 1 + step) * vocab, (p.length + step) * vocab);
            let best = 0;
            for (let k = 1; k < vocab; k++) if (row[k]! > row[best]!) best = k;
            const scale = row.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
            if (best !== token) expect(row[best]! - row[token]!, `prompt ${i} step ${step}: qinfer ${best}, llama.cpp ${token}`).toBeLessThan(TIE * scale);
          });
        }
      } finally {
        model.close();
      }
    }, 180_000);
  }
});
