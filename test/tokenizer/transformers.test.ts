// The gcide-llama-25m reference (../shared, skipped when absent) was tokenized and decoded by
// Hugging Face transformers with the Llama-2 SentencePiece model, the vocabulary of llama-spm:
// qinfer must give the same prompt ids and decode the generated ids to the same text.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { loadVocab } from './vocab-fixtures.js';

const referencePath = '../shared/fixtures/models/gcide-llama-25m/reference.json';
const available = existsSync(referencePath);
if (!available) console.log(`transformers tokenizer reference: skipped, ${referencePath} is absent`);

interface ReferencePrompt {
  text: string;
  ids: number[];
  greedy_continuation: number[];
  greedy_text: string;
}

describe.skipIf(!available)("transformers' Llama-2 tokenizer on the gcide reference prompts", () => {
  const prompts = available ? (JSON.parse(readFileSync(referencePath, 'utf8')) as { prompts: ReferencePrompt[] }).prompts : [];

  it('encodes each prompt (with BOS) to the same ids and decodes the continuations to the same text', async () => {
    const tok = await loadVocab('llama-spm');
    expect(prompts.length).toBeGreaterThan(0);
    for (const p of prompts) {
      expect(tok.encode(p.text)).toEqual(p.ids);
      expect(tok.decode(p.greedy_continuation)).toBe(p.greedy_text);
    }
  });
});
