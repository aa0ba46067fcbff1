// Reading the small JSON and text files of a Hugging Face model folder, with typed errors naming the file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BadFileError, IoError } from '../errors.js';

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(dir: string, name: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(dir, name));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new IoError(`Cannot read ${join(dir, name)}: ${(err as Error).message}`, { cause: err });
  }
}

/** The parsed JSON file, or undefined when it does not exist; malformed JSON is a BadFileError. */
export async function readJsonIfExists(dir: string, name: string): Promise<unknown> {
  const bytes = await readIfExists(dir, name);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BadFileError(`${name} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export type JsonObject = Record<string, unknown>;
export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
