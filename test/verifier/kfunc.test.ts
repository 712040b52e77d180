/**
 * kfunc calls (src/verifier/kfunc.ts, kfunc-table.ts, kfunc-sections.ts): bpfkit's verdict on each
 * program of kfunc-cases.ts is held to the expectation there, and as root the running kernel judges
 * every program too: same verdict, same instruction, same last line, the same references named by a
 * leak. Programs name kfuncs by their ids in the running kernel's BTF, so these tests need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfKind } from '../../src/btf/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { compileC } from '../../src/compile/index.js';
import { loadProgram, VerifierError } from '../../src/kernel/index.js';
import { encodeProgram } from '../../src/isa/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw, parseKernelLog } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, lastLine } from './expect.js';
import { KFUNC_CASES, type KfuncCase, attachOf, kfuncProgram, kfuncVerdict } from './kfunc-cases.js';
import { KFUNCS, kfuncSetAllowed } from '../../src/verifier/kfunc-table.js';

test('kfuncs: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of KFUNC_CASES) assertWant(c.name, kfuncVerdict(btf, c), c.want);
});

test('kfuncs: a leak names every reference held with the call that took it', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const v = kfuncVerdict(
    btf,
    KFUNC_CASES.find((c) => c.name === 'two references leaked')!,
  );
  assert.equal(
    v.message,
    'Unreleased reference id=2 alloc_insn=1\nUnreleased reference id=4 alloc_insn=4\nBPF_EXIT instruction in main prog would lead to reference leak',
  );
});

test('kfuncs: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of KFUNC_CASES) {
    const tpId = c.tp ? btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id : undefined;
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], attachOf(c), tpId);
    const v = kfuncVerdict(btf, c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in c.want, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
    if (/reference leak$/.test(k.message ?? ''))
      for (const line of v.message!.split('\n').slice(0, -1)) assert.ok(k.log.includes(line), `${c.name}: ${line}`);
  }
});

test('kfuncs: a non-GPL program may not call one, even in dead code, as the kernel says (root)', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  // The call is never reached: the kernel refuses it in its first pass (add_kfunc_call).
  const text = 'r0 = 0\nexit\nr1 = 1\ncall kfunc bpf_task_from_pid\nr0 = 0\nexit';
  const c: KfuncCase = { name: 'dead kfunc call', type: ProgType.SCHED_CLS, text, want: { ok: true } };
  const v = kfuncVerdict(btf, c, 'Dual BSD/MIT');
  assert.equal(v.accepted, false);
  assert.notEqual(v.unmodelled, true, v.message);
  assert.equal(v.message, 'cannot call kernel function from non-GPL compatible program');
  // With a GPL license the kernel goes on to its next pass, which finds the call unreachable.
  assert.equal(kfuncVerdict(btf, c).message, 'unreachable insn 2');
  if (!needs(t, { root: true })) return;
  try {
    loadProgram({ name: 'oracle', type: c.type, insns: encodeProgram(kfuncProgram(btf, text)), license: 'MIT' });
    assert.fail('the kernel loaded a non-GPL kfunc call');
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    assert.equal(parseKernelLog(err.log).message, v.message);
  }
});

test('kfuncs: without the kernel BTF, and a kfunc bpfkit has no facts for: not modelled', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const text = 'r1 = 1\ncall kfunc bpf_task_from_pid\nr0 = 0\nexit';
  const insns = kfuncProgram(btf, text);
  const noBtf = verifyInstructions(insns, { type: ProgType.SCHED_CLS });
  assert.equal(noBtf.unmodelled, true, noBtf.message);
  // A kfunc bpfkit has no facts for is named in the refusal.
  const other = verifyInstructions(kfuncProgram(btf, 'call kfunc bpf_arena_alloc_pages\nr0 = 0\nexit'), {
    type: ProgType.SCHED_CLS,
    kernelBtf: btf,
  });
  assert.equal(other.unmodelled, true, other.message);
  assert.match(
    other.message!,
    /^kfunc bpf_arena_alloc_pages \(btf_id \d+\): bpfkit does not model this kernel function$/,
  );
});

test('kfuncs: a reference or a section taken and given back inside a bpf_loop callback (the kernel too as root)', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const [name, body] of [
    ['reference', 'r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_release'],
    ['section', 'call kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_unlock'],
  ] as const) {
    const text = `r1 = 1\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\ncb:\n${body}\nout:\nr0 = 0\nexit`;
    const insns = kfuncProgram(btf, text);
    const v = verifyInstructions(insns, { type: ProgType.SCHED_CLS, kernelBtf: btf, funcInfo: true });
    // Linux 6.18 keeps a callback's references and sections on the path (kfunc-grammar.test.ts has more).
    assert.equal(v.accepted, true, `${name}: ${v.message}`);
    if (needs(t, { root: true }))
      assertKernelAgrees(
        name,
        v,
        kernelVerdictRaw(insns, ProgType.SCHED_CLS, [], undefined, undefined, 0, 'GPL', true),
      );
  }
});

test("kfuncs: every modelled kfunc is in the kernel's BTF, tagged bpf_kfunc, and callable where bpfkit says (root)", (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const tagged = new Set(
    btf.types.filter((x) => x.kind === BtfKind.DECL_TAG && x.name === 'bpf_kfunc').map((x) => x.sizeOrType),
  );
  for (const name of KFUNCS.keys()) {
    const f = btf.byName(name, BtfKind.FUNC);
    assert.ok(f, `${name} is not in the kernel's BTF`);
    assert.ok(tagged.has(f.id), `${name} is not tagged bpf_kfunc`);
  }
  if (!needs(t, { root: true })) return;
  // (syscall programs load only sleepable, which this oracle does not ask for: their sets are the sources'.)
  // The kfunc set of each program type: a call with zeroed arguments is either "not allowed" or refused
  // (or accepted) for another reason, as kfuncSetAllowed says.
  const types: [number, number | undefined][] = [
    [ProgType.SOCKET_FILTER, undefined],
    [ProgType.KPROBE, undefined],
    [ProgType.SCHED_CLS, undefined],
    [ProgType.SCHED_ACT, undefined],
    [ProgType.TRACEPOINT, undefined],
    [ProgType.XDP, undefined],
    [ProgType.PERF_EVENT, undefined],
    [ProgType.CGROUP_SKB, undefined],
    [ProgType.CGROUP_SOCK, 2],
    [ProgType.LWT_IN, undefined],
    [ProgType.SOCK_OPS, 3],
    [ProgType.SK_SKB, undefined],
    [ProgType.RAW_TRACEPOINT, undefined],
    [ProgType.CGROUP_SOCK_ADDR, 10],
    [23, 18], // cgroup_sysctl
    [25, 21], // cgroup_sockopt
    [30, 36], // sk_lookup
    [ProgType.FLOW_DISSECTOR, undefined],
    [ProgType.LWT_SEG6LOCAL, undefined],
  ];
  for (const [name, facts] of KFUNCS) {
    const text = `r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall kfunc ${name}\nr0 = 0\nexit`;
    for (const [type, attach] of types) {
      const k = kernelVerdictRaw(kfuncProgram(btf, text), type, [], attach);
      const kernelAllows = !/^calling kernel function .* is not allowed$/.test(lastLine(k.message) ?? '');
      assert.equal(kfuncSetAllowed(facts.set, type), kernelAllows, `${name} in program type ${type}: ${k.message}`);
    }
  }
});

test('kfuncs: each modelled kfunc given zeros, the stack or the current task, as the kernel judges it (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  const args = {
    zeros: 'r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0',
    stack: 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = r1\nr3 = r1\nr4 = r1\nr5 = r1',
    task: 'call 158\nr1 = r0\nr2 = r0\nr3 = 1\nr4 = 1\nr5 = 1',
  };
  let judged = 0;
  for (const [name, facts] of KFUNCS) {
    const [type, attach] =
      facts.set === 'sock_addr' ? [ProgType.CGROUP_SOCK_ADDR, 10] : [ProgType.TRACEPOINT, undefined];
    for (const [what, setup] of Object.entries(args)) {
      const c: KfuncCase = {
        name: `${name} given ${what}`,
        type,
        attach,
        text: `${setup}\ncall kfunc ${name}\nr0 = 1\nexit`,
        want: { ok: true },
      };
      const v = kfuncVerdict(btf, c);
      if (v.unmodelled) continue;
      const k = kernelVerdictRaw(kfuncProgram(btf, c.text), type, [], attach);
      assertKernelAgrees(c.name, v, k);
      judged++;
    }
  }
  // Most of them bpfkit judges (the sections left open, references leaked, the casts).
  assert.ok(judged > 60, `only ${judged} judged`);
});

test("loadCollection's verify checks kfunc externs clang compiled, relocated by the kernel's BTF (root)", async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const source = (body: string) => `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
SEC("tp_btf/task_newtask") int on_new(__u64 *ctx) {
  struct task_struct *task = (struct task_struct *)ctx[0];
  struct task_struct *t = bpf_task_acquire(task);
  ${body}
  return 0;
}
char LICENSE[] SEC("license") = "GPL";`;
  // Acquired and released: modelled, accepted by bpfkit, and the kernel loads it.
  const ok = await compileC(source('if (t) bpf_task_release(t);'), { filename: 'kfunc-ok.bpf.c' });
  const unmodelled: string[] = [];
  const c = await loadCollection(ok.spec, {
    engine: 'kernel',
    verify: { onUnmodelled: (name, why) => unmodelled.push(`${name}: ${why}`) },
  });
  c.close();
  assert.deepEqual(unmodelled, []);
  // Never released: bpfkit refuses it before the kernel sees it, with the kernel's words.
  const leak = await compileC(source('if (!t) return 1;'), { filename: 'kfunc-leak.bpf.c' });
  await assert.rejects(
    loadCollection(leak.spec, { engine: 'kernel', verify: {} }),
    /BPF_EXIT instruction in main prog would lead to reference leak/,
  );
});
