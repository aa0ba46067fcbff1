import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { BadFileError, IoError } from '../../lib/errors.js';
import { findGgmlType, ggmlTypes, tensorBytes } from '../../lib/ggml-types.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';

const tiny = 'test/fixtures/gguf/tiny.gguf';
const vocabDir = '../shared/fixtures/vocab';

describe('GGUF reader', () => {
  it('reads every metadata value type that gguf-py writes', async () => {
    const g = await readGguf(tiny);
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    const kv = (key: string) => g.metadata.find((m) => m.key === key);
    expect(kv('general.architecture')).toEqual({ key: 'general.architecture', type: 'string', value: 'llama' });
    expect(getMetadata(g, 'test.u8')).toBe(200);
    expect(getMetadata(g, 'test.i8')).toBe(-100);
    expect(getMetadata(g, 'test.u16')).toBe(60000);
    expect(getMetadata(g, 'test.i16')).toBe(-30000);
    expect(getMetadata(g, 'test.u32')).toBe(4000000000);
    expect(getMetadata(g, 'test.i32')).toBe(-2000000000);
    expect(getMetadata(g, 'test.u64')).toBe(2n ** 64n - 2n);
    expect(getMetadata(g, 'test.i64')).toBe(-(2n ** 62n));
    expect(getMetadata(g, 'test.f32')).toBe(Math.fround(0.1));
    expect(getMetadata(g, 'test.f64')).toBe(1e300);
    expect(getMetadata(g, 'test.bool')).toBe(true);
    expect(getMetadata(g, 'test.string')).toBe('héllo ✓ 世界');
    expect(kv('test.arr_i32')).toEqual({ key: 'test.arr_i32', type: 'array', arrayType: 'i32', value: new Int32Array([1, -2, 3]) });
    expect(getMetadata(g, 'test.arr_f32')).toEqual(new Float32Array([0.5, -1.25, 3]));
    expect(getMetadata(g, 'test.arr_u8')).toEqual(new Uint8Array([0, 255, 7]));
    expect(getMetadata(g, 'test.arr_i64')).toEqual(new BigInt64Array([-(2n ** 40n), 5n]));
    expect(getMetadata(g, 'test.arr_f64')).toEqual(new Float64Array([1.5, -2.5]));
    expect(getMetadata(g, 'test.arr_bool')).toEqual([true, false, true]);
    expect(getMetadata(g, 'test.arr_str')).toEqual(['a', '', 'ünï']);
    expect(getMetadata(g, 'test.arr_nested')).toEqual([new Int32Array([1, 2]), new Int32Array([3])]);
    expect(getMetadata(g, 'missing')).toBeUndefined();
  });

  it('reads tensor infos with absolute, aligned offsets', async () => {
    for (const [file, alignment] of [[tiny, 32], ['test/fixtures/gguf/tiny-align64.gguf', 64]] as const) {
      const g = await readGguf(file);
      expect(g.alignment).toBe(alignment);
      expect(g.dataOffset % alignment).toBe(0);
      expect(g.tensors.map((t) => [t.name, t.typeName, t.shape, t.bytes])).toEqual([
        ['token_embd.weight', 'f32', [32, 8], 1024],
        ['blk.0.attn_q.weight', 'f16', [32, 4], 256],
        ['output_norm.weight', 'f32', [32], 128],
        ['blk.0.ffn_down.weight', 'q8_0', [32, 2], 68],
        ['empty.weight', 'f32', [32, 0], 0],
      ]);
      let expected = g.dataOffset;
      for (const t of g.tensors) {
        expect(t.offset).toBe(expected);
        expect(t.bytes).toBe(tensorBytes(t.type, t.shape));
        expected += Math.ceil(t.bytes / alignment) * alignment;
      }
      expect(g.fileSize).toBe(expected);
    }
  });

  it('describes ggml types from the native table, including the newest ones', () => {
    expect(findGgmlType('Q4_K')).toEqual({ id: 12, name: 'q4_K', blockSize: 256, typeSize: 144 });
    expect(findGgmlType(40)?.name).toBe('nvfp4');
    expect(findGgmlType(42)).toEqual({ id: 42, name: 'q2_0', blockSize: 64, typeSize: 18 });
    expect(findGgmlType(4)).toBeUndefined();
    expect(ggmlTypes().length).toBe(38); // ids 0..42 less the 8 ggml removed, plus qinfer's w8a8, q3_32, q2_32 (1000-1002)
  });

  it('rejects non-GGUF and missing files with typed errors', async () => {
    await expect(readGguf('package.json')).rejects.toThrow(BadFileError);
    await expect(readGguf('package.json')).rejects.toThrow(/not a GGUF file/);
    await expect(readGguf('test/fixtures/gguf/missing.gguf')).rejects.toThrow(IoError);
  });

  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readGguf(tiny, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it.skipIf(!existsSync(vocabDir))('reads the llama.cpp vocabulary GGUFs', async () => {
    for (const name of ['gpt-2', 'llama-spm', 'llama-bpe', 'phi-3', 'qwen2']) {
      const g = await readGguf(`${vocabDir}/ggml-vocab-${name}.gguf`);
      const tokens = getMetadata(g, 'tokenizer.ggml.tokens') as string[];
      const types = getMetadata(g, 'tokenizer.ggml.token_type') as Int32Array;
      expect(tokens.length).toBeGreaterThan(30000);
      expect(types).toBeInstanceOf(Int32Array);
      expect(types.length).toBe(tokens.length);
      expect(g.tensors).toEqual([]);
    }
    const spm = await readGguf(`${vocabDir}/ggml-vocab-llama-spm.gguf`);
    expect(getMetadata(spm, 'tokenizer.ggml.model')).toBe('llama');
    expect((getMetadata(spm, 'tokenizer.ggml.tokens') as string[]).slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(getMetadata(spm, 'tokenizer.ggml.scores')).toBeInstanceOf(Float32Array);
  });
});
