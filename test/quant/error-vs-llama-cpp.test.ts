// qinfer's quantizers against llama.cpp's on real weights (the fixture model): the error of every
// format, with and without importance weights, must be no worse than llama.cpp's recorded error on
// the same rows (test/fixtures/quant/llama-cpp-error.json, written by scripts/format-error.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { native, packageRoot } from '../../lib/binding.js';
import { readSafetensors } from '../../lib/safetensors.js';
// @ts-expect-error: plain ESM script shared with the measurement CLI
import { fixtureModel, loadFixtureRows, measureQinfer, syntheticImatrix, weightFormats } from '../../scripts/format-error.mjs';

interface Reference {
  rowsPerTensor: number;
  errors: Record<string, { rmse: number; weightedRmse: number }>;
}

const reference = JSON.parse(
  readFileSync(join(packageRoot, 'test/fixtures/quant/llama-cpp-error.json'), 'utf8'),
) as Reference;
const present = existsSync(fixtureModel as string);
if (!present) console.log(`skipping the comparison with llama.cpp's error: ${fixtureModel as string} is absent`);

const data = present ? await loadFixtureRows(readSafetensors, reference.rowsPerTensor) : undefined;
const imatrix = present ? syntheticImatrix(1024) : undefined;

describe.skipIf(!present)('quantization error against llama.cpp on the fixture weights', () => {
  for (const [name, type] of weightFormats as [string, number][]) {
    it(`${name}: no worse than llama.cpp, plain and importance-weighted`, () => {
      const ref = reference.errors[name]!;
      const q = measureQinfer(native(), type, data, imatrix) as { rmse: number; weightedRmse: number };
      console.log(
        `${name}: RMSE ${q.rmse.toExponential(4)} (llama.cpp ${ref.rmse.toExponential(4)}), ` +
          `weighted ${q.weightedRmse.toExponential(4)} (llama.cpp ${ref.weightedRmse.toExponential(4)})`,
      );
      // Equal for the formats whose round-to-nearest is llama.cpp's own: allow float summation noise.
      expect(q.rmse).toBeLessThanOrEqual(ref.rmse * (1 + 1e-9));
      expect(q.weightedRmse).toBeLessThanOrEqual(ref.weightedRmse * (1 + 1e-9));
    });
  }
});
