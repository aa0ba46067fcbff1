// Replays the libFuzzer corpus and crashers (test/fuzz-corpus/) through the normal readers: every input
// reads or fails with a typed error.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { QinferError } from '../../lib/errors.js';
import { readGguf } from '../../lib/gguf.js';
import { readSafetensors } from '../../lib/safetensors.js';

const corpus = 'test/fuzz-corpus';
const dir = mkdtempSync(join(tmpdir(), 'qinfer-fuzz-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = (sub: string) => readdirSync(join(corpus, sub)).map((f) => join(corpus, sub, f));

async function expectTypedOutcome(read: () => Promise<unknown>, codes: string[]): Promise<'ok' | 'error'> {
  try {
    await read();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(QinferError);
    expect(codes).toContain((err as QinferError).code);
    return 'error';
  }
}

describe('fuzz corpus replay', () => {
  it('GGUF inputs read or give E_BAD_FILE', async () => {
    const outcomes = { ok: 0, error: 0 };
    const inputs = files('gguf');
    expect(inputs.length).toBeGreaterThan(20);
    for (const f of inputs) outcomes[await expectTypedOutcome(() => readGguf(f), ['E_BAD_FILE'])]++;
    // The corpus keeps both kinds: valid files the mutator grew from, and the rejections it found.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  });

  it('safetensors inputs (8 bytes of extra file size, then the JSON header) read or give E_BAD_FILE / E_UNSUPPORTED', async () => {
    const outcomes = { ok: 0, error: 0 };
    const inputs = files('safetensors');
    expect(inputs.length).toBeGreaterThan(20);
    for (const [k, f] of inputs.entries()) {
      const input = readFileSync(f);
      if (input.length < 8) continue;
      const extra = Number(input.readBigUInt64LE(0) % 2n ** 40n);
      const json = input.subarray(8);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const path = join(dir, `st${k}.safetensors`);
      const fd = openSync(path, 'w');
      writeSync(fd, Buffer.concat([len, json]));
      ftruncateSync(fd, 8 + json.length + extra); // sparse: the data section is only sized, never written
      closeSync(fd);
      outcomes[await expectTypedOutcome(() => readSafetensors(path), ['E_BAD_FILE', 'E_UNSUPPORTED'])]++;
      rmSync(path);
    }
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  });
});
