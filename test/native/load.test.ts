import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeLoadError, loadBindingFrom } from '../../lib/native/load.js';

describe('addon loading', () => {
  it('explains what was tried and how to fix it when no binary exists', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ravdl-noaddon-'));
    let err: unknown;
    try {
      loadBindingFrom(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeLoadError);
    const msg = (err as Error).message;
    expect((err as NativeLoadError).code).toBe('ERR_NATIVE_LOAD');
    expect(msg).toContain(join(empty, 'build', 'Release', 'ravdl.node'));
    expect(msg).toContain('prebuilds');
    expect(msg).toMatch(/apt-get install -y cmake g\+\+/);
    expect(msg).toMatch(/npm rebuild ravdl/);
    expect(msg).toContain(process.version);
    expect(msg).not.toMatch(/^Cannot find module/);
  });
});
