import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The examples import 'ravdl' as a user would; the package's "ravdl-source" export condition
  // resolves that to the sources (lib/), the one copy of the library the tests also import.
  ssr: { resolve: { conditions: ['ravdl-source', ...defaultServerConditions] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Native kernels are thread-pooled already; one test worker per core is plenty.
    pool: 'forks',
  },
});
