// Awaiting a native background job ({promise, abort}) with an AbortSignal wired to its abort flag.
import type { NativeTask } from './binding.js';
import { AbortError } from './errors.js';

/** Awaits a native task, forwarding an AbortSignal to it. */
export async function awaitTask<T>(task: NativeTask<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return task.promise;
  const onAbort = () => task.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await task.promise;
  } catch (err) {
    if (err instanceof AbortError && signal.aborted) throw new AbortError(err.message, { cause: signal.reason });
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
