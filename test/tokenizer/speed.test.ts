// Tokenizing 1 MB of real text (GCIDE from ../shared, skipped when absent) with every fixture
// vocabulary: fast, and decoding gives the text back.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { loadVocab, VOCABS } from './vocab-fixtures.js';

const textPath = '../shared/fixtures/text/gcide-train-2mb.txt';
const available = existsSync(textPath);
if (!available) console.log(`tokenizer speed: skipped, ${textPath} is absent`);

describe.skipIf(!available)('1 MB of GCIDE text', () => {
  it.each(VOCABS)('%s', async (name) => {
    const tok = await loadVocab(name);
    const text = readFileSync(textPath, 'utf8').slice(0, 1_000_000);
    const start = performance.now();
    const ids = tok.encode(text);
    const ms = performance.now() - start;
    console.log(`tokenizer speed: ${name} encodes 1 MB into ${ids.length} tokens in ${ms.toFixed(0)} ms`);
    expect(tok.decode(ids)).toBe(text);
    // Well under a second on a quiet machine; the bound leaves room for a loaded 2-core CI box.
    expect(ms).toBeLessThan(2000);
  });
});
