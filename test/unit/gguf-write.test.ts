import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { GGML_TYPE } from '../../lib/ggml-types.js';
import { type GgufWriteSpec, getMetadata, ggufWriteSpecOf, readGguf, writeGguf } from '../../lib/gguf.js';
import { rng, testSeed } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function halfToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15));
}
const bf16ToF32 = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!;

/** Round to nearest, ties to even, by searching the monotonic encodings; `top` is +infinity's code. */
function nearestEven(x: number, decode: (code: number) => number, top: number, beyondTop: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const ax = Math.abs(x);
  const value = (c: number) => (c === top ? beyondTop : decode(c));
  let lo = 0;
  let hi = top;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (value(mid) <= ax) lo = mid;
    else hi = mid;
  }
  const dl = ax - value(lo);
  const dh = value(hi) - ax;
  return sign | (dl < dh || (dl === dh && lo % 2 === 0) ? lo : hi);
}
const refF16 = (x: number) => (Math.abs(x) >= 65520 ? (x < 0 ? 0xfc00 : 0x7c00) : nearestEven(x, halfToF32, 0x7c00, 65536));
const refBf16 = (x: number) => nearestEven(x, bf16ToF32, 0x7f80, 2 ** 128);

/** Random floats over many binades, plus the awkward ones (ties, subnormals, overflow). */
function awkwardFloats(n: number, next: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 60 - 30) * (1 + next());
  a.set([0, -0, 65504, 65519.99, 65520, 1e6, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 5.960464477539063e-8], 0);
  return a;
}

async function bytesOfTensor(path: string, name: string): Promise<Uint8Array> {
  const g = await readGguf(path);
  const t = g.tensors.find((x) => x.name === name)!;
  return new Uint8Array(readFileSync(path).subarray(t.offset, t.offset + t.bytes));
}

describe(`GGUF writer (seed ${testSeed})`, () => {
  it('reproduces gguf-py files byte for byte', async () => {
    for (const f of ['tiny.gguf', 'tiny-align64.gguf']) {
      const src = `test/fixtures/gguf/${f}`;
      const out = join(dir, f);
      const r = await writeGguf(ggufWriteSpecOf(await readGguf(src), out));
      expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
      expect(r.bytes).toBe(readFileSync(src).length);
    }
  });

  it('writes metadata of every type that reads back the same, and records a non-default alignment', async () => {
    const metadata = [
      { key: 'a.u8', type: 'u8', value: 255 },
      { key: 'a.i16', type: 'i16', value: -32768 },
      { key: 'a.u64', type: 'u64', value: 2n ** 64n - 1n },
      { key: 'a.i64', type: 'i64', value: -5 },
      { key: 'a.f64', type: 'f64', value: Math.PI },
      { key: 'a.bool', type: 'bool', value: false },
      { key: 'a.str', type: 'string', value: '' },
      { key: 'a.u16s', type: 'array', arrayType: 'u16', value: [1, 65535] },
      { key: 'a.f32s', type: 'array', arrayType: 'f32', value: new Float32Array([1.5, -0]) },
      { key: 'a.empty', type: 'array', arrayType: 'i32', value: new Int32Array(0) },
      { key: 'a.nested', type: 'array', arrayType: 'array', value: [['x', 'y'], [[true], new Uint8Array([9])]] },
    ] as const;
    const out = join(dir, 'meta.gguf');
    await writeGguf({ path: out, alignment: 16, metadata: [...metadata], tensors: [] });
    const g = await readGguf(out);
    expect(g.alignment).toBe(16);
    expect(getMetadata(g, 'general.alignment')).toBe(16);
    expect(getMetadata(g, 'a.u64')).toBe(2n ** 64n - 1n);
    expect(getMetadata(g, 'a.i64')).toBe(-5n);
    expect(getMetadata(g, 'a.u16s')).toEqual(new Uint16Array([1, 65535]));
    expect(getMetadata(g, 'a.nested')).toEqual([['x', 'y'], [[true], new Uint8Array([9])]]);
    for (const m of metadata.filter((x) => !['a.i64', 'a.u16s'].includes(x.key)))
      expect(g.metadata.find((x) => x.key === m.key)).toEqual(m);
  });

  it('converts f32/f16/bf16 sources with round-to-nearest-even and keeps NaN', async () => {
    const next = rng();
    const x = awkwardFloats(4096, next);
    x[100] = NaN;
    x[101] = -Infinity;
    const src = join(dir, 'src.bin');
    // 7 bytes of prefix: sources need not be aligned.
    writeFileSync(src, Buffer.concat([Buffer.alloc(7, 0xee), Buffer.from(x.buffer)]));
    const f16 = new Uint16Array(x.length);
    const bf16 = new Uint16Array(x.length);
    for (let i = 0; i < x.length; i++) {
      f16[i] = Number.isNaN(x[i]) ? 0x7e00 : refF16(x[i]!);
      bf16[i] = Number.isNaN(x[i]) ? 0x7fc0 : refBf16(x[i]!);
    }
    const out = join(dir, 'conv.gguf');
    const fileSrc = (dtype: 'f32' | 'f16' | 'bf16', path = src, offset = 7) => ({ kind: 'file' as const, path, offset, dtype });
    await writeGguf({
      path: out,
      metadata: [],
      tensors: [
        { name: 'f16', type: GGML_TYPE.F16, shape: [64, 64], source: fileSrc('f32') },
        { name: 'bf16', type: GGML_TYPE.BF16, shape: [4096], source: fileSrc('f32') },
        { name: 'f32', type: GGML_TYPE.F32, shape: [4096], source: fileSrc('f32') },
      ],
    });
    const got16 = new Uint16Array((await bytesOfTensor(out, 'f16')).slice().buffer);
    const gotbf = new Uint16Array((await bytesOfTensor(out, 'bf16')).slice().buffer);
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) {
        expect(halfToF32(got16[i]!)).toBeNaN();
        expect(bf16ToF32(gotbf[i]!)).toBeNaN();
        continue;
      }
      if (got16[i] !== f16[i] || gotbf[i] !== bf16[i]) throw new Error(`element ${i} (${x[i]}): f16 ${got16[i]} vs ${f16[i]}, bf16 ${gotbf[i]} vs ${bf16[i]}`);
    }
    expect(Buffer.from(await bytesOfTensor(out, 'f32')).equals(Buffer.from(x.buffer))).toBe(true);

    // Back up: f16 and bf16 sources widen exactly to f32 and convert across.
    const out2 = join(dir, 'conv2.gguf');
    const g = await readGguf(out);
    const at = (n: string) => g.tensors.find((t) => t.name === n)!.offset;
    await writeGguf({
      path: out2,
      metadata: [],
      tensors: [
        { name: 'from16', type: GGML_TYPE.F32, shape: [4096], source: fileSrc('f16', out, at('f16')) },
        { name: 'from_bf16', type: GGML_TYPE.F32, shape: [4096], source: fileSrc('bf16', out, at('bf16')) },
        { name: 'bf16_to_f16', type: GGML_TYPE.F16, shape: [4096], source: fileSrc('bf16', out, at('bf16')) },
      ],
    });
    const w16 = new Float32Array((await bytesOfTensor(out2, 'from16')).slice().buffer);
    const wbf = new Float32Array((await bytesOfTensor(out2, 'from_bf16')).slice().buffer);
    const cross = new Uint16Array((await bytesOfTensor(out2, 'bf16_to_f16')).slice().buffer);
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) continue;
      expect(w16[i]).toBe(halfToF32(f16[i]!));
      expect(wbf[i]).toBe(bf16ToF32(bf16[i]!));
      expect(cross[i]).toBe(refF16(bf16ToF32(bf16[i]!)));
    }
  });

  it('permutes Q/K rows per head from rotate-half to interleaved order, like llama.cpp', async () => {
    const next = rng(testSeed + 1);
    const heads = 3;
    const headDim = 8;
    const cols = 5;
    const rows = heads * headDim;
    const w = new Float32Array(rows * cols).map(() => next());
    const bias = new Float32Array(rows).map(() => next());
    const src = join(dir, 'qk.bin');
    writeFileSync(src, Buffer.concat([Buffer.from(w.buffer), Buffer.from(bias.buffer)]));
    const out = join(dir, 'qk.gguf');
    const permuteRope = { heads };
    await writeGguf({
      path: out,
      metadata: [],
      tensors: [
        { name: 'q', type: GGML_TYPE.F32, shape: [cols, rows], source: { kind: 'file', path: src, offset: 0, dtype: 'f32', permuteRope } },
        { name: 'qb', type: GGML_TYPE.F32, shape: [rows], source: { kind: 'file', path: src, offset: w.byteLength, dtype: 'f32', permuteRope } },
      ],
    });
    // numpy: w.reshape(heads, 2, headDim // 2, cols).swapaxes(1, 2).reshape(rows, cols)
    const half = headDim / 2;
    const expected = new Float32Array(rows * cols);
    const expectedBias = new Float32Array(rows);
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < half; i++)
        for (let j = 0; j < 2; j++) {
          const dst = h * headDim + i * 2 + j;
          const s = h * headDim + j * half + i;
          expected.set(w.subarray(s * cols, (s + 1) * cols), dst * cols);
          expectedBias[dst] = bias[s]!;
        }
    expect(new Float32Array((await bytesOfTensor(out, 'q')).slice().buffer)).toEqual(expected);
    expect(new Float32Array((await bytesOfTensor(out, 'qb')).slice().buffer)).toEqual(expectedBias);
  });

  it('reports progress, aborts without leaving files, and validates before creating anything', async () => {
    const data = new Uint8Array(4 << 20).map((_, i) => i);
    const spec = (path: string): GgufWriteSpec => ({
      path,
      metadata: [],
      tensors: Array.from({ length: 4 }, (_, i) => ({ name: `t${i}`, type: GGML_TYPE.F32, shape: [1 << 20], source: { kind: 'data' as const, data } })),
    });
    const seen: number[] = [];
    const out = join(dir, 'prog.gguf');
    await writeGguf(spec(out), { onProgress: (p) => seen.push(p.bytesDone) });
    expect(seen.at(-1)).toBe(16 << 20);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    // An already-aborted signal never creates a file.
    const sub = mkdtempSync(join(dir, 'abort-'));
    await expect(writeGguf(spec(join(sub, 'w.gguf')), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(readdirSync(sub)).toEqual([]);
    // Aborted right after the start: the worker sees the flag at its next chunk, unless a descheduled main
    // thread let it finish first; either way nothing half-written remains.
    const ac = new AbortController();
    const p = writeGguf(spec(join(sub, 'x.gguf')), { signal: ac.signal });
    ac.abort();
    const outcome = await p.then(
      () => 'done',
      (e: { code?: string }) => e.code,
    );
    if (outcome === 'done') {
      expect(readdirSync(sub)).toEqual(['x.gguf']);
      expect((await readGguf(join(sub, 'x.gguf'))).tensors.length).toBe(4);
      rmSync(join(sub, 'x.gguf'));
    } else {
      expect(outcome).toBe('E_ABORTED');
      expect(readdirSync(sub)).toEqual([]);
    }

    await expect(writeGguf({ ...spec(join(sub, 'y.gguf')), tensors: [{ name: 'q', type: GGML_TYPE.Q8_0, shape: [33], source: { kind: 'data', data } }] })).rejects.toThrow(/multiple of 32/);
    await expect(writeGguf({ ...spec(join(sub, 'y.gguf')), tensors: [{ name: 'a', type: 0, shape: [2], source: { kind: 'data', data } }] })).rejects.toThrow(/has 4194304 bytes/);
    await expect(writeGguf({ ...spec(join(sub, 'y.gguf')), metadata: [{ key: 'k', type: 'u8', value: 256 }] })).rejects.toThrow(
      'Expected an unsigned 8-bit integer for option metadata "k" but received the number 256',
    );
    await expect(
      writeGguf({ path: join(sub, 'y.gguf'), metadata: [], tensors: [{ name: 'q', type: GGML_TYPE.Q8_0, shape: [32], source: { kind: 'file', path: 'package.json', offset: 0, dtype: 'f32' } }] }),
    ).rejects.toThrow(/converts only between f32, f16 and bf16/);
    await expect(
      writeGguf({ path: join(sub, 'y.gguf'), metadata: [], tensors: [{ name: 'big', type: 0, shape: [1 << 20], source: { kind: 'file', path: 'package.json', offset: 0, dtype: 'f32' } }] }),
    ).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(writeGguf({ ...spec(join(sub, 'y.gguf')), tensors: [spec('').tensors[0]!, spec('').tensors[0]!] })).rejects.toThrow(/duplicate tensor name "t0"/);
    await expect(writeGguf(spec(join(dir, 'no-such-dir', 'z.gguf')))).rejects.toMatchObject({ code: 'E_IO' });
    expect(readdirSync(sub)).toEqual([]);
  });

  it("passes a throwing progress callback's error through", async () => {
    const boom = new Error('boom');
    const out = join(dir, 'cb.gguf');
    const data = new Uint8Array(8);
    await expect(
      writeGguf({ path: out, metadata: [], tensors: [{ name: 'a', type: 0, shape: [2], source: { kind: 'data', data } }] }, { onProgress: () => { throw boom; } }),
    ).rejects.toBe(boom);
  });
});
