// Backend names, selection (option, QINFER_BACKEND, auto order) and where each GPU module lives.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { addonPath } from './binding.js';
import { expectOneOf } from './options.js';

export const BACKEND_NAMES = ['cpu', 'cuda', 'vulkan'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** auto tries these in order and takes the first available. */
export const AUTO_ORDER: readonly BackendName[] = ['cuda', 'vulkan', 'cpu'];

/** The option wins over QINFER_BACKEND; both default to auto. */
export function resolveBackendChoice(option: unknown): BackendChoice {
  if (option !== undefined) return expectOneOf(option, ['auto', ...BACKEND_NAMES], 'backend');
  const env = process.env.QINFER_BACKEND;
  if (env !== undefined && env !== '') return expectOneOf(env, ['auto', ...BACKEND_NAMES], 'QINFER_BACKEND');
  return 'auto';
}

/** GPU modules are looked up beside the addon, or in QINFER_MODULE_DIR when set. */
export function moduleDir(): string {
  return process.env.QINFER_MODULE_DIR || dirname(addonPath());
}

export function modulePath(name: Exclude<BackendName, 'cpu'>): string {
  return join(moduleDir(), `qinfer-${name}.so`);
}

interface ModuleManifest {
  [name: string]: { built: boolean; reason?: string } | undefined;
}

/** Why the build did not produce a module (from qinfer-modules.json written by CMake), if it says. */
export function buildReason(name: Exclude<BackendName, 'cpu'>): string | undefined {
  const file = join(dirname(addonPath()), 'qinfer-modules.json');
  if (!existsSync(file)) return `qinfer-${name} module was not built (this addon was built without CMake)`;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as ModuleManifest;
    const entry = manifest[name];
    return entry && !entry.built ? entry.reason : undefined;
  } catch {
    return undefined;
  }
}

/** Operation codes of the backend ABI (qinfer_op_code in native/include/qinfer/backend.h). */
export const BackendOp = {
  ADD_F32: 1,
  MATVEC: 2,
  MATMUL: 3,
  GET_ROWS: 4,
  RMS_NORM: 5,
  ROPE: 6,
  SOFTMAX: 7,
  SILU_MUL: 8,
  ARGMAX: 9,
  ATTENTION: 10,
  KV_STORE: 11,
  ADD_ROWS: 12,
  COPY: 13,
} as const;
