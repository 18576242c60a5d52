// The addon's load error says why it failed and gives the command that fixes it: install scripts
// skipped (no prebuilt binary for the platform and no build folder), a prebuilt binary this
// machine cannot load, or no binary at all.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeLoadError, loadBindingFrom } from '../../lib/native/load.js';

function failure(root: string): string {
  try {
    loadBindingFrom(root);
  } catch (e) {
    expect(e).toBeInstanceOf(NativeLoadError);
    return (e as Error).message;
  }
  throw new Error('the addon loaded');
}

describe('addon load errors', () => {
  it('install scripts skipped: says so and gives the commands', () => {
    const root = mkdtempSync(join(tmpdir(), 'ravdl-noscripts-'));
    const msg = failure(root);
    expect(msg).toMatch(/install script, which compiles the addon, did not run: install scripts were skipped \(npm install --ignore-scripts/);
    expect(msg).toContain('npm rebuild ravdl --ignore-scripts=false');
    expect(msg).toContain(`node ${join(root, 'scripts', 'install.cjs')}`);
  });

  it('a build folder without an addon: compile it', () => {
    const root = mkdtempSync(join(tmpdir(), 'ravdl-nobuild-'));
    mkdirSync(join(root, 'build'));
    const msg = failure(root);
    expect(msg).toMatch(/No prebuilt binary matches this platform, so the addon must be compiled/);
    expect(msg).not.toMatch(/install scripts were skipped/);
  });

  it('a prebuilt binary that does not load: build from source', () => {
    const root = mkdtempSync(join(tmpdir(), 'ravdl-badprebuild-'));
    const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ravdl.node'), 'not a shared library');
    const msg = failure(root);
    expect(msg).toMatch(/The prebuilt binary for .* does not load on this machine/);
    expect(msg).toContain('npm rebuild ravdl --build-from-source');
  });
});
