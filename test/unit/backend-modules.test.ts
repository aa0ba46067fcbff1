// The loader turns every broken module into an unavailable backend with a reason; nothing crashes.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { addonPath } from '../../lib/binding.js';
import { BackendUnavailableError } from '../../lib/errors.js';
import { openBackend } from '../../lib/backend-open.js';
import { probe } from '../../lib/probe.js';

const testModules = join(dirname(addonPath()), 'test-modules');
let dir: string;
const savedDir = process.env.QINFER_MODULE_DIR;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qinfer-modules-'));
  process.env.QINFER_MODULE_DIR = dir;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  if (savedDir === undefined) delete process.env.QINFER_MODULE_DIR;
  else process.env.QINFER_MODULE_DIR = savedDir;
});

async function vulkanEntry() {
  const p = await probe({ refresh: true });
  return p.backends.find((b) => b.name === 'vulkan')!;
}

describe('backend modules', () => {
  it('a missing module is unavailable with the build reason', async () => {
    const v = await vulkanEntry();
    expect(v.available).toBe(false);
    expect(v.reason).toMatch(/qinfer-vulkan module/);
  });

  it('a corrupt module file is unavailable with the loader error', async () => {
    writeFileSync(join(dir, 'qinfer-vulkan.so'), Buffer.from('\x7fELF this is not a shared object'));
    const v = await vulkanEntry();
    expect(v.available).toBe(false);
    expect(v.reason).toMatch(/cannot load qinfer-vulkan module/);
  });

  it('a shared object without the registration symbol is refused', async () => {
    // The addon itself is a valid shared object that exports no backend.
    copyFileSync(addonPath(), join(dir, 'qinfer-vulkan.so'));
    const v = await vulkanEntry();
    expect(v.available).toBe(false);
    expect(v.reason).toMatch(/does not export qinfer_backend_register/);
  });

  it('a module built for another ABI version is refused with both versions', async () => {
    copyFileSync(join(testModules, 'qinfer-fake-abi.so'), join(dir, 'qinfer-vulkan.so'));
    const v = await vulkanEntry();
    expect(v.available).toBe(false);
    expect(v.reason).toMatch(/built for backend ABI 999 but this addon expects 3/);
  });

  it('a module whose driver is absent reports the driver reason, and opening it throws BackendUnavailableError', async () => {
    copyFileSync(join(testModules, 'qinfer-fake-nodriver.so'), join(dir, 'qinfer-vulkan.so'));
    const v = await vulkanEntry();
    expect(v.available).toBe(false);
    expect(v.reason).toMatch(/libfake\.so\.1 not found/);
    await expect(openBackend('vulkan')).rejects.toThrow(BackendUnavailableError);
    await expect(openBackend('vulkan')).rejects.toThrow(/libfake\.so\.1 not found/);
  });
});
