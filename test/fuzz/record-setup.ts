// Vitest setup file of the recording run (vitest.record.config.ts): records the binding calls
// of each test file into $FUZZ_RECORD_DIR. Never loaded by a plain `npx vitest run`.
import { afterAll } from 'vitest';
import { native } from '../../lib/native/load.js';
import { flushRecorder, installRecorder } from './recorder.js';

const dir = process.env.FUZZ_RECORD_DIR;
if (dir) {
  const binding = native() as unknown as Record<string | symbol, unknown>;
  installRecorder(binding);
  afterAll(() => flushRecorder(binding, dir));
}
