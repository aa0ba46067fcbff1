// Token files: .npy int32 and raw int32, and the errors for anything else.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BadFileError, IoError } from '../../lib/errors.js';
import { readTokenFile } from '../../lib/token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-tokens-'));

function npy(descr: string, shape: string, data: Buffer, version = 1): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n';
  const head = Buffer.alloc(pre);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

const ids = Int32Array.from([1, 319, -5, 2 ** 31 - 1, 0]);
const bytes = Buffer.from(ids.buffer);

describe('readTokenFile', () => {
  it('reads .npy int32 (format versions 1 and 2) and raw int32', async () => {
    for (const version of [1, 2]) {
      const p = join(dir, `v${version}.npy`);
      writeFileSync(p, npy('<i4', '(5,)', bytes, version));
      expect([...(await readTokenFile(p))]).toEqual([...ids]);
    }
    const raw = join(dir, 'tokens.bin');
    writeFileSync(raw, bytes);
    expect([...(await readTokenFile(raw))]).toEqual([...ids]);
  });

  it('refuses other dtypes, short data, odd raw sizes and missing files', async () => {
    const cases: [string, Buffer][] = [
      ['f32.npy', npy('<f4', '(5,)', bytes)],
      ['i8.npy', npy('<i8', '(5,)', bytes)],
      ['short.npy', npy('<i4', '(6,)', bytes)],
      ['magic.npy', Buffer.from('not numpy at all')],
      ['odd.bin', bytes.subarray(0, 7)],
    ];
    for (const [name, content] of cases) {
      const p = join(dir, name);
      writeFileSync(p, content);
      await expect(readTokenFile(p), name).rejects.toBeInstanceOf(BadFileError);
    }
    await expect(readTokenFile(join(dir, 'missing.npy'))).rejects.toBeInstanceOf(IoError);
  });
});
