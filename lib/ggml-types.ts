// The ggml tensor type table, read from the addon (the C table in native/core/ggml-types.cc is the only copy).
import { native } from './binding.js';
import { BadFileError } from './errors.js';

export interface GgmlType {
  id: number;
  /** ggml's name, e.g. "q4_K", "bf16". */
  name: string;
  /** Elements per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

let table: Map<number, GgmlType> | undefined;

function types(): Map<number, GgmlType> {
  table ??= new Map(native().ggmlTypes().map((t) => [t.id, t]));
  return table;
}

/** Every type ggml defines, by id. */
export function ggmlTypes(): GgmlType[] {
  return [...types().values()];
}

/** The type with this id or (case-insensitive) name, or undefined. */
export function findGgmlType(idOrName: number | string): GgmlType | undefined {
  if (typeof idOrName === 'number') return types().get(idOrName);
  const lower = idOrName.toLowerCase();
  for (const t of types().values()) if (t.name.toLowerCase() === lower) return t;
  return undefined;
}

/** Well-known ids, for code that names them (the rest come from the table). */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, BF16: 30 } as const;

/** Bytes of a tensor of this type and ggml-order shape (ne[0] must be a multiple of the block size). */
export function tensorBytes(type: number, shape: readonly number[]): number {
  const t = findGgmlType(type);
  if (!t) throw new BadFileError(`unknown ggml type id ${type}`);
  const elements = shape.reduce((a, b) => a * b, 1);
  if (shape.length > 0 && shape[0]! % t.blockSize !== 0)
    throw new BadFileError(`a ${t.name} row of ${shape[0]} elements is not a multiple of its block size ${t.blockSize}`);
  return (elements / t.blockSize) * t.typeSize;
}
