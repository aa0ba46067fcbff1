import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { AbortError, BackendUnavailableError, InvalidArgumentError, QinferError, throwIfAborted } from '../../lib/errors.js';
import { expectInteger, expectOneOf } from '../../lib/options.js';
import { resolveBackendChoice } from '../../lib/backend.js';

describe('errors', () => {
  it('carry a stable code and are QinferErrors', () => {
    const e = new BackendUnavailableError('x');
    expect(e).toBeInstanceOf(QinferError);
    expect(e.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(e.name).toBe('BackendUnavailableError');
  });

  it('native code throws the JS classes with the caller stack', () => {
    const Ctor = native().NativeBackend;
    let caught: unknown;
    try {
      new Ctor('vulkan', '/nonexistent/qinfer-vulkan.so');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BackendUnavailableError);
    expect((caught as Error).message).toMatch(/not built/);
    expect((caught as Error).stack).toMatch(/errors-options\.test\.ts/);
  });

  it('throwIfAborted throws AbortError', () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(() => throwIfAborted(c.signal)).toThrow(AbortError);
  });
});

describe('options', () => {
  it('use one message style', () => {
    expect(() => expectOneOf('gpu', ['cpu', 'cuda'], 'backend')).toThrow(
      new InvalidArgumentError('Expected one of "cpu", "cuda" for option backend but received "gpu"'),
    );
    expect(() => expectInteger(1.5, 'threads', 1, 256)).toThrow('Expected an integer from 1 to 256 for option threads but received 1.5');
  });

  it('backend: option beats QINFER_BACKEND, which beats auto', () => {
    const saved = process.env.QINFER_BACKEND;
    try {
      delete process.env.QINFER_BACKEND;
      expect(resolveBackendChoice(undefined)).toBe('auto');
      process.env.QINFER_BACKEND = 'cpu';
      expect(resolveBackendChoice(undefined)).toBe('cpu');
      expect(resolveBackendChoice('vulkan')).toBe('vulkan');
      process.env.QINFER_BACKEND = 'tpu';
      expect(() => resolveBackendChoice(undefined)).toThrow(/option QINFER_BACKEND but received "tpu"/);
    } finally {
      if (saved === undefined) delete process.env.QINFER_BACKEND;
      else process.env.QINFER_BACKEND = saved;
    }
  });
});
