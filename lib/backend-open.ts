// Opening a backend for compute: resolves auto, checks the probe, then loads the module in-process.
import { type BackendChoice, type BackendName, modulePath, resolveBackendChoice } from './backend.js';
import { type NativeBackend, native } from './binding.js';
import { BackendUnavailableError } from './errors.js';
import { probe } from './probe.js';

export interface OpenedBackend {
  name: BackendName;
  native: NativeBackend;
}

/**
 * The backend for `choice` (option, else QINFER_BACKEND, else auto: the probe's pick), checked against the
 * probe; `modulePath` is where a GPU module lives. The CPU backend needs no probe.
 */
export async function selectBackend(choice?: unknown): Promise<{ name: BackendName; modulePath: string }> {
  const resolved = resolveBackendChoice(choice);
  if (resolved === 'cpu') return { name: 'cpu', modulePath: '' };
  const p = await probe();
  const name = resolved === 'auto' ? p.selected : resolved;
  const entry = p.backends.find((b) => b.name === name);
  if (!entry?.available) throw new BackendUnavailableError(`The ${name} backend is unavailable: ${entry?.reason ?? 'unknown reason'}`);
  return { name, modulePath: name === 'cpu' ? '' : modulePath(name) };
}

/** Picks the backend for `choice` (option, else QINFER_BACKEND, else auto) and opens it. */
export async function openBackend(choice?: BackendChoice): Promise<OpenedBackend> {
  const { name, modulePath: path } = await selectBackend(choice);
  const Ctor = native().NativeBackend;
  return { name, native: name === 'cpu' ? new Ctor('cpu') : new Ctor(name, path) };
}
