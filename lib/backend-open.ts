// Opening a backend for compute: resolves auto, checks the probe, then loads the module in-process.
import { type BackendChoice, type BackendName, modulePath, resolveBackendChoice } from './backend.js';
import { type NativeBackend, native } from './binding.js';
import { BackendUnavailableError } from './errors.js';
import { probe } from './probe.js';

export interface OpenedBackend {
  name: BackendName;
  native: NativeBackend;
}

/** Picks the backend for `choice` (option, else QINFER_BACKEND, else auto) and opens it. */
export async function openBackend(choice?: BackendChoice): Promise<OpenedBackend> {
  const resolved = resolveBackendChoice(choice);
  const p = await probe();
  const name = resolved === 'auto' ? p.selected : resolved;
  const entry = p.backends.find((b) => b.name === name);
  if (!entry?.available) throw new BackendUnavailableError(`The ${name} backend is unavailable: ${entry?.reason ?? 'unknown reason'}`);
  const Ctor = native().NativeBackend;
  return { name, native: name === 'cpu' ? new Ctor('cpu') : new Ctor(name, modulePath(name)) };
}
