/**
 * The running kernel's BTF for the verifier tests that check programs by it (tp_btf, iterators, kfuncs,
 * BTF helper arguments): each such test skips, naming why, on a kernel without /sys/kernel/btf/vmlinux.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { Btf } from '../../src/btf/index.js';
import { runningKernel } from '../../src/loader/kernel-env.js';

const haveBtf = existsSync('/sys/kernel/btf/vmlinux');

/** The running kernel's BTF (call after skipWithoutBtf). */
export const kernelBtf = (): Btf => runningKernel().btf()!;

/** Skip the test, in one line, when the kernel has no BTF; true when skipped. */
export function skipWithoutBtf(t: TestContext): boolean {
  if (haveBtf) return false;
  t.skip('no /sys/kernel/btf/vmlinux');
  return true;
}
