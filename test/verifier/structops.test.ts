/**
 * struct_ops programs (src/verifier/struct-ops.ts): bpfkit's verdict on each program of
 * structops-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line. A congestion control in C goes the
 * loader's way (its `.struct_ops` map gives each program its member) to the same verdicts, and `bpfkit
 * verify` gives them too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../src/compile/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { needs, repoPath } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictObject, kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import {
  STORAGE_MAP,
  STRUCT_OPS,
  STRUCT_OPS_CASES,
  flagsOf,
  structOpsProgram,
  structOpsVerdict,
  target,
} from './structops-cases.js';

test('struct_ops: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of STRUCT_OPS_CASES) assertWant(c.name, structOpsVerdict(btf, c), c.want);
});

test('struct_ops: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of STRUCT_OPS_CASES) {
    const { structId, index } = target(btf, c);
    const maps = c.storage ? [STORAGE_MAP] : [];
    const k = kernelVerdictRaw(structOpsProgram(btf, c.text), STRUCT_OPS, maps, index, structId, flagsOf(c), c.license);
    const v = structOpsVerdict(btf, c);
    assert.notEqual(v.unmodelled, true, `${c.name}: not modelled: ${v.message}`);
    assertKernelAgrees(c.name, v, k);
  }
});

/** A congestion control whose set_state writes a field tcp_congestion_ops may not write. */
const CC = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

SEC("struct_ops")
void so_init(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  tp->snd_ssthresh = 20;
}

SEC("struct_ops")
__u32 so_ssthresh(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  return tp->snd_cwnd > 4 ? tp->snd_cwnd / 2 : 2;
}

SEC("struct_ops")
void so_cong_avoid(unsigned long long *ctx) {
  tcp_reno_cong_avoid((struct sock *)ctx[0], (__u32)ctx[1], (__u32)ctx[2]);
}

SEC("struct_ops")
__u32 so_undo_cwnd(unsigned long long *ctx) {
  return tcp_reno_undo_cwnd((struct sock *)ctx[0]);
}

SEC("struct_ops")
void so_set_state(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  tp->rcv_nxt = 0;
}

SEC(".struct_ops")
struct tcp_congestion_ops so_cc = {
  .init = (void *)so_init,
  .ssthresh = (void *)so_ssthresh,
  .cong_avoid = (void *)so_cong_avoid,
  .undo_cwnd = (void *)so_undo_cwnd,
  .set_state = (void *)so_set_state,
  .name = "bpfkit_so_cc",
};
`;

test("struct_ops: a congestion control in C, through the loader, gets the kernel's verdicts", async (t) => {
  if (skipWithoutBtf(t) || !needs(t, { tools: ['clang'] })) return;
  const compiled = await compileC(CC, { filename: 'structops-cc.bpf.c' });
  const spec = prepareSpec(compiled.spec, { engine: 'kernel' }, runningKernel());
  const btf = kernelBtf();
  for (const p of spec.programs) {
    const v = verifyProgram(spec, p, { kernelBtf: btf });
    assert.notEqual(v.unmodelled, true, `${p.name}: not modelled: ${v.message}`);
    if (p.name === 'so_set_state') assert.match(v.message ?? '', /^no write support to tcp_sock at off \d+$/);
    else assert.equal(v.accepted, true, `${p.name}: ${v.message}`);
  }
  // `bpfkit verify` prepares the object as a load does: the struct_ops map laid out for the running kernel,
  // the kfunc externs resolved by the kernel's BTF (unresolved, a kfunc call was a jump out of range).
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-structops-${process.pid}-`));
  try {
    const obj = join(dir, 'cc.o');
    writeFileSync(obj, compiled.object);
    const cli = (name: string) =>
      spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), 'verify', obj, '--program', name], {
        encoding: 'utf8',
      }).stdout.trim();
    assert.equal(cli('so_init'), 'so_init: accepted');
    assert.equal(cli('so_cong_avoid'), 'so_cong_avoid: accepted');
    assert.equal(cli('so_undo_cwnd'), 'so_undo_cwnd: accepted');
    assert.match(cli('so_set_state'), /\nso_set_state: refused at insn \d+: no write support to tcp_sock at off \d+$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!needs(t, { root: true })) return;
  for (const p of spec.programs)
    assertKernelAgrees(p.name, verifyProgram(spec, p, { kernelBtf: btf }), kernelVerdictObject(spec, p.name));
});
