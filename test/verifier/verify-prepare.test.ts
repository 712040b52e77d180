/**
 * `bpfkit verify` judges an object as a load gives it to the kernel: CO-RE applied and externs resolved
 * against the running kernel. An object that cannot be prepared so is not modelled, saying why in one line —
 * never judged as compiled (a kfunc call would be a jump to nowhere) and never a refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../src/compile/index.js';
import { needs, repoPath } from '../support/env.js';
import { skipWithoutBtf } from './kernel-btf.js';

// Two programs, one calling a kfunc the kernel has and one calling a kfunc no kernel has: the object as a
// whole cannot be prepared (libbpf refuses such a load too), so both programs are not modelled.
const SOURCE = `
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_no_such_kfunc(void) __ksym;

SEC("xdp") int known(struct xdp_md *ctx) { bpf_rcu_read_lock(); bpf_rcu_read_unlock(); return XDP_PASS; }
SEC("xdp") int unknown(struct xdp_md *ctx) { return bpf_no_such_kfunc() ? XDP_DROP : XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
`;

test('bpfkit verify: an object whose externs the running kernel cannot resolve is not modelled, in one line', async (t) => {
  if (skipWithoutBtf(t) || !needs(t, { tools: ['clang'] })) return;
  const compiled = await compileC(SOURCE, { filename: 'verify-prepare.bpf.c' });
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-verify-prepare-${process.pid}-`));
  try {
    const obj = join(dir, 'prepare.o');
    writeFileSync(obj, compiled.object);
    const run = spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), 'verify', obj], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.equal(run.stderr, '');
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 2, run.stdout);
    for (const [i, name] of ['known', 'unknown'].entries()) {
      assert.match(
        lines[i] ?? '',
        new RegExp(
          `^${name}: not modelled at insn \\d+: .*cannot be prepared as a load prepares it: .*bpf_no_such_kfunc`,
        ),
      );
      assert.doesNotMatch(lines[i] ?? '', /refused/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
