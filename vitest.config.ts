import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Native kernels are thread-pooled already; one test worker per core is plenty.
    pool: 'forks',
  },
});
