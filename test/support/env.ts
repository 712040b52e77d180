/**
 * What a test needs from the machine. Outside CI a missing tool or privilege skips the test with one
 * visible line; under CI=true it fails the test, because CI is where those tests must run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

/**
 * `npm run test:unit` (BPFKIT_TEST_UNIT=1) plays a plain user's machine: no root and no tools, so every
 * test that asks for them skips, even under CI=true. What remains needs neither privilege, nor a network
 * namespace, nor an external program.
 */
export const unitRun = process.env.BPFKIT_TEST_UNIT === '1';

export const inCI = process.env.CI === 'true' && !unitRun;

const toolCache = new Map<string, boolean>();
export function hasTool(tool: string): boolean {
  if (unitRun) return false;
  let ok = toolCache.get(tool);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    toolCache.set(tool, ok);
  }
  return ok;
}

export function isRoot(): boolean {
  if (unitRun) return false;
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface Needs {
  tools?: string[];
  /** root (CAP_BPF, CAP_NET_ADMIN, netns creation) on Linux */
  root?: boolean;
  /** the shared conformance suite at `conformanceDir` (data outside the repository) */
  conformance?: boolean;
  /** a long run (stress, fuzz: seconds of CPU): the full suite runs it, `npm run test:unit` leaves it out */
  long?: boolean;
}

/**
 * Returns true when the test can run. Otherwise skips it (outside CI) or fails it (CI=true).
 * Use: `if (!needs(t, { tools: ['tcpdump'], root: true })) return;`
 */
export function needs(t: TestContext, want: Needs): boolean {
  const missing: string[] = [];
  for (const tool of want.tools ?? []) if (!hasTool(tool)) missing.push(tool);
  if (want.root && (process.platform !== 'linux' || !isRoot())) missing.push('root on Linux');
  if (want.conformance && !existsSync(conformanceDir))
    missing.push(`the conformance suite at ${conformanceDir} (set BPFKIT_CONFORMANCE_DIR)`);
  if (want.long && unitRun) {
    t.skip('a long run (test:unit leaves it to the full suite)');
    return false;
  }
  if (missing.length === 0) return true;
  const reason = `needs ${missing.join(', ')}${unitRun ? ' (unit run)' : ''}`;
  if (inCI) assert.fail(`${reason} (CI=true: .ci/run must provide it)`);
  t.skip(reason);
  return false;
}

/** Absolute path of a file in the repository (tests run from the repo root). */
export function repoPath(...parts: string[]): string {
  return [process.cwd(), ...parts].join('/');
}

/**
 * The shared conformance suite's tests: $BPFKIT_CONFORMANCE_DIR, by default ../shared/conformance/tests
 * beside the repository. The one place tests look for it; those that use it call needs(t, { conformance: true }).
 */
export const conformanceDir = process.env.BPFKIT_CONFORMANCE_DIR || repoPath('..', 'shared', 'conformance', 'tests');
