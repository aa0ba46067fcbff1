// qinfer against llama.cpp's own Python `gguf` package, through vectors it wrote
// (scripts/check-formats-gguf-py.py): same round-to-nearest bytes, same decoded values of every layout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { native, packageRoot } from '../../lib/binding.js';

interface Vector {
  name: string;
  type: number;
  input?: string;
  bytes?: string;
  random?: string;
  values?: string;
}

const file = join(packageRoot, 'test/fixtures/quant/gguf-py-vectors.json');
const vectors = JSON.parse(readFileSync(file, 'utf8')) as { seed: number; formats: Vector[] };
const b = native();

function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function floatsOf(b64: string): Float32Array {
  const u = bytesOf(b64);
  return new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
}

/** Indices where two float arrays differ bit for bit (so -0 vs 0 and NaN payloads count). */
function bitDiffs(a: Float32Array, c: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const uc = new Uint32Array(c.buffer, c.byteOffset, c.length);
  const out: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== uc[i]) out.push(i);
  return out;
}

describe(`llama.cpp gguf-py vectors (seed ${vectors.seed})`, () => {
  it('covers the formats gguf-py can quantize and every stored format', () => {
    const names = vectors.formats.map((v) => v.name).sort();
    expect(names).toEqual(
      ['bf16', 'f16', 'iq4_nl', 'iq4_xs', 'q2_k', 'q3_k', 'q4_0', 'q4_1', 'q4_k', 'q5_0', 'q5_1', 'q5_k', 'q6_k', 'q8_0'].sort(),
    );
  });

  for (const v of vectors.formats) {
    if (v.input && v.bytes) {
      it(`${v.name}: round-to-nearest gives llama.cpp's bytes`, () => {
        const x = floatsOf(v.input!);
        const got = b.quantizeRows(v.type, x, x.length);
        const want = bytesOf(v.bytes!);
        expect(got.length).toBe(want.length);
        const diffs: number[] = [];
        for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) diffs.push(i);
        expect(diffs, `first differing bytes at ${diffs.slice(0, 8).join(', ')}`).toEqual([]);
      });
    }
    if (v.random && v.values) {
      it(`${v.name}: decodes every bit of the layout to llama.cpp's values`, () => {
        const want = floatsOf(v.values!);
        const got = b.dequantizeRows(v.type, bytesOf(v.random!), want.length);
        const diffs = bitDiffs(got, want);
        expect(diffs.slice(0, 8).map((i) => [i, got[i], want[i]]), `${diffs.length} values differ`).toEqual([]);
      });
    }
  }
});
