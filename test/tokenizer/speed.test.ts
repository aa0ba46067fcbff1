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
    // Process CPU time, not wall time: other processes on a busy machine do not count.
    const start = process.cpuUsage();
    const ids = tok.encode(text);
    const used = process.cpuUsage(start);
    const ms = (used.user + used.system) / 1000;
    console.log(`tokenizer speed: ${name} encodes 1 MB into ${ids.length} tokens in ${ms.toFixed(0)} ms of CPU time`);
    expect(tok.decode(ids)).toBe(text);
    // A fresh tokenizer (cold JIT, empty word cache) takes 0.26-0.43 s here.
    expect(ms).toBeLessThan(1000);
  });
});
