/**
 * BPF objects as Debian packages ship them, for the tests that judge bpfkit on other projects' objects
 * (test/verifier/packaged-objects.test.ts, test/loader/libbpf-parity.test.ts): each installed file that is
 * a BPF object (.o, .elf) or holds one (an executable or library a libbpf skeleton embedded it in), read once
 * however many names (symlinks, versioned library names) the package gives it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { bpfObjectsIn } from '../../src/elf/embedded.js';
import { inCI } from './env.js';

/** One BPF object: `FILE` when the file is the object, `FILE@0xOFFSET` when embedded. */
export interface PackagedObject {
  path: string;
  /** The installed file's base name. */
  file: string;
  bytes: Uint8Array;
}

/** Whether a Debian package is installed. */
function installed(pkg: string): boolean {
  try {
    return /^Status: install ok installed$/m.test(
      execFileSync('dpkg-query', ['-s', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
  } catch {
    return false;
  }
}

/**
 * True when every package is installed; otherwise skips the test naming them (outside CI) or fails it
 * (CI=true: .ci/run installs them). Call after needs(t, { tools: ['dpkg-query'] }).
 */
export function needsPackages(t: TestContext, pkgs: readonly string[]): boolean {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return true;
  const reason = `needs the Debian package${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  if (inCI) assert.fail(`${reason} (CI=true: .ci/run must install it)`);
  t.skip(reason);
  return false;
}

/** Every BPF object the packages install or embed, each file read once. */
export function packagedObjects(pkgs: readonly string[]): PackagedObject[] {
  const files = pkgs.flatMap((pkg) =>
    execFileSync('dpkg-query', ['-L', pkg], { encoding: 'utf8' }).split('\n').filter(Boolean),
  );
  const out: PackagedObject[] = [];
  for (const file of new Set(files.map((f) => realpathSync(f)))) {
    if (!/\.(o|elf)$|\/s?bin\/[^/]+$|\.so(\.\d+)*$/.test(file)) continue;
    const bytes = readFileSync(file);
    const name = file.split('/').pop()!;
    for (const o of bpfObjectsIn(bytes))
      out.push({
        path: o.offset === 0 && o.length === bytes.length ? file : `${file}@0x${o.offset.toString(16)}`,
        file: name,
        bytes: bytes.subarray(o.offset, o.offset + o.length),
      });
  }
  return out;
}
