import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native addons (hnswlib, onnxruntime, better-sqlite3) are safest in forked processes.
    pool: 'forks',
  },
});
