import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readSafetensors } from '../../lib/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A safetensors file from a raw header (string or bytes) and a data section. */
function file(header: string | Buffer, data = Buffer.alloc(0), lengthOverride?: bigint): string {
  const h = typeof header === 'string' ? Buffer.from(header) : header;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(h.length));
  const path = join(dir, `f${n++}.safetensors`);
  writeFileSync(path, Buffer.concat([len, h, data]));
  return path;
}

const entry = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

describe('safetensors reader', () => {
  it('reads tensors, metadata and absolute offsets', async () => {
    const header = JSON.stringify({
      extra: { dtype: 'U8', shape: [1], data_offsets: [20, 21], future: { x: [1, 2.5e3, -0.5, 'é', true, false, null, {}, []] } },
      __metadata__: { format: 'pt', note: 'é\n' },
      'a.weight': entry('BF16', [2, 3], 0, 12),
      b: entry('F32', [], 12, 16),
      c: entry('I8', [0, 5], 16, 16),
      d: entry('F8_E4M3', [4], 16, 20),
    });
    const padded = header + '   '; // writers pad the header with spaces to align the data
    const path = file(padded, Buffer.alloc(21));
    const st = await readSafetensors(path);
    expect(st.dataOffset).toBe(8 + Buffer.byteLength(padded));
    expect(st.metadata).toEqual({ format: 'pt', note: 'é\n' });
    expect(st.tensors).toEqual([
      { name: 'extra', dtype: 'U8', shape: [1], offset: st.dataOffset + 20, bytes: 1 },
      { name: 'a.weight', dtype: 'BF16', shape: [2, 3], offset: st.dataOffset, bytes: 12 },
      { name: 'b', dtype: 'F32', shape: [], offset: st.dataOffset + 12, bytes: 4 },
      { name: 'c', dtype: 'I8', shape: [0, 5], offset: st.dataOffset + 16, bytes: 0 },
      { name: 'd', dtype: 'F8_E4M3', shape: [4], offset: st.dataOffset + 16, bytes: 4 },
    ]);
  });

  it.each([
    ['a header longer than the file', file('{}', Buffer.alloc(0), 1000n), /claims 1000 bytes/],
    ['a header length over 100 MiB', file('{}', Buffer.alloc(0), 2n ** 40n), /over the 100 MiB limit/],
    ['a header that is not an object', file('[1]'), /not a JSON object/],
    ['truncated JSON', file('{"a": {"dtype": "F32"'), /unexpected end|expected/],
    ['trailing garbage', file('{} x'), /unexpected data after/],
    ['a duplicate tensor', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', Buffer.alloc(8)), /duplicate entry "a"/],
    ['data past the end', file(JSON.stringify({ a: entry('F32', [4], 0, 16) }), Buffer.alloc(8)), /data ends at 16 but the file holds 8/],
    ['a size that disagrees with the shape', file(JSON.stringify({ a: entry('F32', [3], 0, 8) }), Buffer.alloc(8)), /needs 12/],
    ['reversed offsets', file(JSON.stringify({ a: entry('U8', [0], 8, 4) }), Buffer.alloc(8)), /end before they begin/],
    ['overlapping tensors', file(JSON.stringify({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }), Buffer.alloc(12)), /"b" overlaps tensor "a"/],
    ['an element count past 2^64', file(JSON.stringify({ a: entry('F32', [2 ** 32, 2 ** 32], 0, 0) })), /more than 2\^64 elements/],
    ['an integer past 2^64', file('{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,0]}}'), /larger than 2\^64/],
    ['a fractional dimension', file('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}'), /expected an integer/],
    ['a missing field', file('{"a":{"dtype":"F32","shape":[1]}}'), /lacks dtype, shape or data_offsets/],
    ['a repeated field', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}}', Buffer.alloc(4)), /repeats the field "dtype"/],
    ['deep nesting in an extra field', file(`{"a":{"x":${'['.repeat(100000)}}}`), /nesting deeper than 64/],
    ['a bad value in an extra field', file('{"a":{"x":{"k":[1,2,}]}}'), /invalid number/],
    ['non-string metadata', file('{"__metadata__":{"a":1}}'), /__metadata__ "a" is not a string/],
    ['a name that is not UTF-8', file(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x7b, 0x7d, 0x7d])), /not valid UTF-8/],
    ['a lone surrogate escape', file('{"\\ud800":{}}'), /lone high surrogate/],
    ['deep nesting in metadata', file(`{"__metadata__":{"a":${'['.repeat(100000)}}}`), /expected a string|is not a string/],
    ['too many dimensions', file(JSON.stringify({ a: entry('U8', Array(17).fill(1), 0, 1) }), Buffer.alloc(1)), /more than 16 dimensions/],
  ])('rejects %s with E_BAD_FILE', async (_, path, message) => {
    const err = await readSafetensors(path).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_BAD_FILE' });
    expect((err as Error).message).toMatch(message);
  });

  it('refuses unknown dtypes with E_UNSUPPORTED naming them, and short files with E_BAD_FILE', async () => {
    await expect(readSafetensors(file(JSON.stringify({ a: entry('F4', [2], 0, 1) }), Buffer.alloc(1)))).rejects.toMatchObject({
      code: 'E_UNSUPPORTED',
      message: expect.stringMatching(/tensor "a" has dtype F4/),
    });
    const short = join(dir, 'short.safetensors');
    writeFileSync(short, Buffer.alloc(5));
    await expect(readSafetensors(short)).rejects.toMatchObject({ code: 'E_BAD_FILE' });
  });
});
