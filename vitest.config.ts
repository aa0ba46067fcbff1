import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vulkan tests run under the Khronos validation layer where it is installed; errors fail them.
    env: { QINFER_VULKAN_VALIDATION: process.env.QINFER_VULKAN_VALIDATION ?? '1' },
  },
});
