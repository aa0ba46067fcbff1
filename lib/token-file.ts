// Token id files: NumPy .npy (one-dimensional int32, little-endian) or raw little-endian int32.
import { readFile } from 'node:fs/promises';

import { BadFileError, IoError } from './errors.js';

function parseNpy(path: string, bytes: Buffer): Int32Array {
  const magic = '\x93NUMPY';
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== magic) throw new BadFileError(`${path}: not a NumPy .npy file`);
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) throw new BadFileError(`${path}: truncated .npy header`);
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<i4' && descr !== '|i4') throw new BadFileError(`${path}: tokens must be int32 ('<i4') but the file holds '${descr}'`);
  if (fortran === 'True') throw new BadFileError(`${path}: Fortran-ordered arrays are not supported`);
  const dims = (shape ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 0)) throw new BadFileError(`${path}: bad .npy shape (${shape})`);
  if (start + 4 * n > bytes.length) throw new BadFileError(`${path}: the .npy data is shorter than its shape (${n} tokens)`);
  return rawInt32(bytes.subarray(start, start + 4 * n));
}

function rawInt32(bytes: Buffer): Int32Array {
  const out = new Int32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt32LE(4 * i);
  return out;
}

/** Reads token ids from `.npy` (int32) or, for any other name, raw little-endian int32. */
export async function readTokenFile(path: string): Promise<Int32Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new IoError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (path.toLowerCase().endsWith('.npy')) return parseNpy(path, bytes);
  if (bytes.length % 4 !== 0) throw new BadFileError(`${path}: ${bytes.length} bytes is not a whole number of int32 tokens`);
  return rawInt32(bytes);
}
