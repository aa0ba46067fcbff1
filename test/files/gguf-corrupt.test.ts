// Generated corrupt GGUF files: each must give BadFileError naming the problem (no crash, hang or huge allocation).
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { BadFileError } from '../../lib/errors.js';
import { readGguf } from '../../lib/gguf.js';
import { Bytes, type GgufSpec, T, gguf, kvString, kvU32, validSpec } from '../helpers/gguf-bytes.js';
import { rng, testSeed } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function save(bytes: Buffer): string {
  const path = join(dir, `c${n++}.gguf`);
  writeFileSync(path, bytes);
  return path;
}

async function expectBad(bytes: Buffer, message: RegExp): Promise<void> {
  const err = await readGguf(save(bytes)).catch((e: unknown) => e);
  expect(err, `expected ${message}`).toBeInstanceOf(BadFileError);
  expect((err as Error).message).toMatch(message);
}

const withSpec = (patch: Partial<GgufSpec>) => gguf({ ...validSpec(), ...patch }).bytes;
const tensors = (...ts: GgufSpec['tensors'] & object) => ts;

describe(`corrupt GGUF files (seed ${testSeed})`, () => {
  it('the unmodified generated file reads', async () => {
    const g = await readGguf(save(gguf(validSpec()).bytes));
    expect(g.tensors.map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });

  it('truncated at every field boundary and at random points', async () => {
    const { bytes, boundaries } = gguf(validSpec());
    const next = rng();
    const cuts = new Set([0, 1, 3, ...boundaries.filter((b) => b < bytes.length), ...boundaries.map((b) => b - 1)]);
    for (let i = 0; i < 64; i++) cuts.add(Math.floor(next() * bytes.length));
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      if (cut <= 0) continue; // an empty file: its own message below
      await expectBad(bytes.subarray(0, cut), /truncated|ends at|past the end|would start at|claims|holds only/);
    }
    await expectBad(Buffer.alloc(0), /empty/);
  });

  it('bad magic and versions', async () => {
    await expectBad(withSpec({ magic: 'GGUG' }), /not a GGUF file/);
    await expectBad(withSpec({ version: 0 }), /unsupported GGUF version 0/);
    await expectBad(withSpec({ version: 4 }), /unsupported GGUF version 4/);
    await expectBad(withSpec({ version: 1 }), /version 1/);
    await expectBad(withSpec({ version: 0x03000000 }), /big-endian/);
    // version 2 has the same layout and reads
    expect((await readGguf(save(withSpec({ version: 2 })))).version).toBe(2);
  });

  it('absurd counts and lengths are refused before allocating', async () => {
    await expectBad(withSpec({ tensorCount: 2n ** 63n }), /claims 9223372036854775808 tensors/);
    await expectBad(withSpec({ tensorCount: 2n ** 64n - 1n }), /tensors but the file holds/);
    await expectBad(withSpec({ kvCount: 2n ** 63n }), /claims 9223372036854775808 metadata entries/);
    await expectBad(withSpec({ kvs: [kvString('k', 'x', 2n ** 40n)] }), /claims 1099511627776 bytes/);
    await expectBad(withSpec({ kvs: [kvString('k', 'x', 2n ** 64n - 1n)] }), /claims 18446744073709551615 bytes/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.ARRAY).u32(T.U64).u64(2n ** 61n) }] }), /claims 2305843009213693952 elements of type u64/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.ARRAY).u32(T.STRING).u64(2n ** 62n) }] }), /elements of type string/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.ARRAY).u32(T.ARRAY).u64(2n ** 62n) }] }), /elements of type array/);
    const hugeKey = new Bytes().raw(Buffer.from('GGUF')).u32(3).u64(0).u64(1).str('k', 2n ** 40n).raw(Buffer.alloc(64)).build();
    await expectBad(hugeKey, /metadata entry 0 key claims 1099511627776 bytes/);
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [2n ** 32n, 2n ** 32n], type: 0, offset: 0 }) }), /more than 2\^63 elements/);
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [2n ** 63n], type: 0, offset: 0 }) }), /dimension 0 is negative/);
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [2n ** 62n], type: 28, offset: 0 }) }), /larger than 2\^64 bytes/);
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [1, 1, 1, 1, 1], type: 0, offset: 0 }) }), /5 dimensions/);
  });

  it('tensor data out of the file, overlapping or misaligned', async () => {
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [1000], type: 0, offset: 0 }) }), /"a" data \(4000 bytes at data offset 0\) extends past the end/);
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [4], type: 0, offset: 2n ** 64n - 32n }) }), /extends past the end/);
    await expectBad(
      withSpec({ tensors: tensors({ name: 'a', dims: [16], type: 0, offset: 0 }, { name: 'b', dims: [8], type: 0, offset: 32 }) }),
      /"b" overlaps tensor "a"/,
    );
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [4], type: 0, offset: 16 }) }), /offset 16 is not a multiple of the alignment 32/);
    // With an alignment of 16 the same offset is fine.
    const ok = await readGguf(save(withSpec({ kvs: [kvU32('general.alignment', 16)], alignment: 16, tensors: tensors({ name: 'a', dims: [4], type: 0, offset: 16 }) })));
    expect(ok.tensors[0]!.offset).toBe(ok.dataOffset + 16);
  });

  it('unknown types and impossible shapes', async () => {
    for (const type of [4, 5, 31, 36, 43, 999, 1003, 0xffffffff])
      await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [32], type, offset: 0 }) }), new RegExp(`unknown ggml type id ${type | 0}`));
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [33], type: 8, offset: 0 }) }), /33 elements per row, not a multiple of its block size 32/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(13).u32(0) }] }), /type is 13, not a GGUF value type/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.ARRAY).u32(99).u64(0) }] }), /element type is 99/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.BOOL).u8(2) }] }), /bool of value 2/);
    await expectBad(withSpec({ kvs: [{ key: 'k', write: (b) => b.u32(T.ARRAY).u32(T.BOOL).u64(2).u8(1).u8(7) }] }), /neither 0 nor 1/);
    const deep = (b: Bytes) => {
      b.u32(T.ARRAY);
      for (let i = 0; i < 20; i++) b.u32(T.ARRAY).u64(1);
      b.u32(T.U8).u64(0);
    };
    await expectBad(withSpec({ kvs: [{ key: 'k', write: deep }] }), /nests arrays deeper than 8/);
  });

  it('duplicates, bad names and keys, bad alignment', async () => {
    await expectBad(withSpec({ tensors: tensors({ name: 'a', dims: [8], type: 0, offset: 0 }, { name: 'a', dims: [8], type: 0, offset: 32 }) }), /duplicate tensor name "a"/);
    await expectBad(withSpec({ kvs: [kvU32('k', 1), kvU32('k', 2)] }), /duplicate metadata key "k"/);
    await expectBad(withSpec({ kvs: [{ key: Buffer.from([0x6b, 0xc3]), write: (b) => b.u32(T.U8).u8(0) }] }), /key that is not valid UTF-8/);
    await expectBad(withSpec({ kvs: [{ key: Buffer.from([0xed, 0xa0, 0x80]), write: (b) => b.u32(T.U8).u8(0) }] }), /not valid UTF-8/); // a surrogate
    await expectBad(withSpec({ kvs: [{ key: Buffer.from([0xc0, 0xaf]), write: (b) => b.u32(T.U8).u8(0) }] }), /not valid UTF-8/); // overlong
    await expectBad(withSpec({ kvs: [kvU32('', 1)] }), /empty key/);
    await expectBad(withSpec({ tensors: tensors({ name: Buffer.from([0xff]), dims: [8], type: 0, offset: 0 }) }), /name that is not valid UTF-8/);
    await expectBad(withSpec({ kvs: [{ key: 'general.alignment', write: (b) => b.u32(T.U64).u64(32) }] }), /general.alignment must be a u32 but is a u64/);
    await expectBad(withSpec({ kvs: [kvU32('general.alignment', 0)] }), /general.alignment 0 is not a power of two/);
    await expectBad(withSpec({ kvs: [kvU32('general.alignment', 48)] }), /general.alignment 48 is not a power of two/);
    await expectBad(withSpec({ kvs: [kvU32('general.alignment', 2 ** 31)] }), /would start at offset 2147483648/);
  });

  it('random byte flips give either a file or a BadFileError', async () => {
    const { bytes } = gguf(validSpec());
    const next = rng(testSeed + 7);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 1 + Math.floor(next() * 4); k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      const r = await readGguf(save(b)).catch((e: unknown) => e);
      if (r instanceof Error) expect(r).toBeInstanceOf(BadFileError);
    }
  });

  it('reads tensors past 4 GiB in a sparse file', async () => {
    const spec: GgufSpec = { kvs: [kvString('general.architecture', 'llama')], tensors: tensors({ name: 'far', dims: [8], type: 0, offset: 5n * 2n ** 30n }) };
    const { bytes, dataOffset } = gguf(spec);
    const path = join(dir, 'sparse.gguf');
    const fd = openSync(path, 'w');
    writeSync(fd, bytes);
    const marker = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer);
    writeSync(fd, marker, 0, marker.length, dataOffset + 5 * 2 ** 30);
    closeSync(fd);
    const g = await readGguf(path);
    expect(g.fileSize).toBe(dataOffset + 5 * 2 ** 30 + 32);
    expect(g.tensors[0]).toMatchObject({ name: 'far', offset: dataOffset + 5 * 2 ** 30, bytes: 32 });
    // One byte short: the tensor ends past the file.
    const short = join(dir, 'sparse-short.gguf');
    const fd2 = openSync(short, 'w');
    writeSync(fd2, bytes);
    writeSync(fd2, marker, 0, 31, dataOffset + 5 * 2 ** 30);
    closeSync(fd2);
    await expect(readGguf(short)).rejects.toThrow(/extends past the end/);
  });
});
