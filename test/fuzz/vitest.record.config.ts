// The test suite with the call recorder installed (used by make-corpus.ts only).
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL('../..', import.meta.url)),
    test: {
      setupFiles: ['test/fuzz/record-setup.ts'],
      // The fuzzer's own test replays the corpus: recording it would feed the corpus to itself.
      exclude: ['test/fuzz/**', '**/node_modules/**'],
    },
  }),
);
