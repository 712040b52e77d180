/**
 * The bpf_dynptr_* kfuncs (src/verifier/dynptr-kfunc.ts, dynptr-slice.ts): bpfkit's verdict on each
 * program of dynptr-kfunc-cases.ts is held to the expectation there, and as root the running kernel
 * judges every program too: same verdict, same instruction, same last line. The kfunc calls are
 * relocated by the running kernel's BTF, which the tests skip without (one line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { compileC } from '../../src/compile/index.js';
import { verifyInstructions, verifyProgram, type VerifyResult } from '../../src/verifier/index.js';
import { Compare, covers } from '../../src/verifier/prune.js';
import { type DynptrSlice, NOT_INIT, type Reg, type State, ptrReg } from '../../src/verifier/state.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictObject, kernelVerdictRaw } from './kernel-oracle.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { loadProgram } from '../../src/kernel/prog-load.js';
import { VerifierError } from '../../src/kernel/errors.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { encodeProgram } from '../../src/isa/codec.js';
import { iterProgram } from './iter-kfunc-cases.js';
import { DYNPTR_KFUNC_CASES, DYNPTR_KFUNC_MAPS, type DynptrKfuncCase, TRACE_RAW_TP } from './dynptr-kfunc-cases.js';

const verdict = (btf: Btf, c: DynptrKfuncCase): VerifyResult =>
  verifyInstructions(iterProgram(c.text, btf), {
    type: c.type,
    kernelBtf: btf,
    maps: DYNPTR_KFUNC_MAPS,
    ...(c.tp ? { attachType: TRACE_RAW_TP, attachBtfName: `btf_trace_${c.tp}` } : {}),
  });

test('dynptr kfuncs: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of DYNPTR_KFUNC_CASES) assertWant(c.name, verdict(btf, c), c.want);
});

test('dynptr kfuncs: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of DYNPTR_KFUNC_CASES) {
    const v = verdict(btf, c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in c.want, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    const tpId = c.tp ? btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id : undefined;
    const k = kernelVerdictRaw(
      iterProgram(c.text, btf),
      c.type,
      DYNPTR_KFUNC_MAPS,
      c.tp ? TRACE_RAW_TP : undefined,
      tpId,
    );
    assertKernelAgrees(c.name, v, k);
  }
});

test("a load the kernel's verifier refuses with EPERM is its verifier's refusal, in its words, not lockdown (root)", (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  const c = DYNPTR_KFUNC_CASES.find((x) => x.name.startsWith('slice_rdwr'))!;
  // Linux 6.18 here refuses bpf_dynptr_slice_rdwr with EPERM and a verifier log; the first load asks for no
  // log (as every load does), so the loader must ask again rather than blame lockdown.
  try {
    const { fd } = loadProgram({
      name: 'rdwr',
      type: c.type,
      insns: encodeProgram(iterProgram(c.text, btf)),
      license: 'GPL',
    });
    closeFd(fd); // a kernel that allows it: nothing to report
  } catch (err) {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.errno, 'EPERM');
    assert.match(err.log, /^11: \(85\) call bpf_dynptr_slice_rdwr#\d+\nbpf_dynptr_slice_rdwr\(\) is not allowed$/m);
  }
});

test('dynptr kfuncs: a store into a slice buffer kills it only when the slice was made with that buffer', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  // The fast path (env.sliceBuffers unset: no slice with a stack buffer yet) must not skip a kill: the
  // same store after a slice with a buffer is refused, after one without a buffer is not.
  const prog = (buf: string) =>
    `r6 = r1\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -16\nkcall bpf_dynptr_from_skb\nr1 = r10\nr1 += -16\nr2 = 0\n${buf}\nr4 = 8\nkcall bpf_dynptr_slice\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 48) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 0\nexit`;
  const run = (buf: string) => verifyInstructions(iterProgram(prog(buf), btf), { type: 3, kernelBtf: btf });
  const withBuf = run('r3 = r10\nr3 += -48');
  assert.equal(withBuf.accepted, false);
  assert.equal(withBuf.message, "R0 invalid mem access 'scalar'");
  assert.equal(run('r3 = 0').accepted, true);
});

test('a global function takes a dynptr as a const one: bpfkit checks it as the kernel does (root, clang)', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const source = (call: string) => `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
__attribute__((noinline)) int peek(struct bpf_dynptr *d) {
  char buf[4] = {};
  char *p = bpf_dynptr_slice(d, 0, buf, sizeof(buf));
  return p ? p[0] : 0;
}
SEC("xdp") int prog(struct xdp_md *ctx) {
  struct bpf_dynptr d;
  ${call}
  return peek(&d) & 1;
}
char LICENSE[] SEC("license") = "GPL";`;
  const btf = kernelBtf();
  for (const [call, file] of [
    ['bpf_dynptr_from_xdp(ctx, 0, &d);', 'dynptr-global-ok.bpf.c'],
    // No dynptr made: the call is refused, naming the argument and the function.
    ['', 'dynptr-global-bad.bpf.c'],
  ] as const) {
    const { spec } = await compileC(source(call), { filename: file });
    // As the loader prepares it (linked, kfunc externs resolved by the running kernel's BTF).
    const ps = prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, runningKernel());
    const v = verifyProgram(
      ps,
      ps.programs.find((p) => p.name === 'prog')!,
      { kernelBtf: btf },
    );
    assert.notEqual(v.unmodelled, true, v.message);
    const k = kernelVerdictObject(ps, 'prog');
    assertKernelAgrees(file, v, k);
  }
});

test('dynptr kfuncs: a remembered state covers another only if their slices die of the same things', () => {
  // Two paths whose r0 slices differ only in their stack buffer (or packet flag) must not prune each
  // other: a later store into one buffer kills one slice and not the other (prune.ts's sameSlice).
  const state = (slice: DynptrSlice): State => {
    const regs = new Array<Reg>(11).fill(NOT_INIT);
    regs[0] = ptrReg('mem', { size: 8, rdonly: true, nullable: true, id: 5, slice });
    regs[10] = ptrReg('fp', { frame: 0 });
    return { frames: [{ regs, stack: new Map(), callsite: -1, subprog: 0 }], refs: new Map() };
  };
  const live = 0x7ff;
  const at48: DynptrSlice = { pkt: true, frame: 0, lo: -48, hi: -40 };
  assert.equal(covers(state(at48), state({ ...at48 }), live, Compare.Covers), true);
  assert.equal(covers(state(at48), state({ ...at48, lo: -64, hi: -56 }), live, Compare.Covers), false);
  assert.equal(covers(state(at48), state({ ...at48, frame: -1, lo: 0, hi: 0 }), live, Compare.Covers), false);
  assert.equal(covers(state(at48), state({ ...at48, pkt: false }), live, Compare.Covers), false);
});

test("a global function calling bpf_dynptr_write kills its caller's packet pointers, as the kernel says (root, clang)", async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const source = (fn: string, call: string) => `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
static long (* const dwrite)(const struct bpf_dynptr *dst, __u32 offset, void *src, __u32 len, __u64 flags) = (void *) 202;
static long (* const dfrommem)(void *data, __u32 size, __u64 flags, struct bpf_dynptr *ptr) = (void *) 197;
extern int bpf_dynptr_from_skb(struct __sk_buff *s, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, long); } arr SEC(".maps");
${fn}
SEC("tc") int prog(struct __sk_buff *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct bpf_dynptr d;
  if (data + 1 > end) return 0;
  bpf_dynptr_from_skb(ctx, 0, &d);
  int r = ${call};
  return r + *(volatile char *)data;
}
char LICENSE[] SEC("license") = "GPL";`;
  // Through a dynptr argument (an skb one), and on a local dynptr of the function's own.
  const viaArg = `__attribute__((noinline)) int w(struct bpf_dynptr *d) {
  char b[4] = {1, 2, 3, 4};
  return dwrite(d, 0, b, sizeof(b), 0);
}`;
  const local = `__attribute__((noinline)) int w(void) {
  int k = 0; char b[4] = {1, 2, 3, 4};
  struct bpf_dynptr d;
  long *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return 0;
  dfrommem(v, 8, 0, &d);
  return dwrite(&d, 0, b, sizeof(b), 0);
}`;
  const btf = kernelBtf();
  for (const [fn, call, file] of [
    [viaArg, 'w(&d)', 'dynptr-write-arg.bpf.c'],
    [local, 'w()', 'dynptr-write-local.bpf.c'],
  ] as const) {
    const { spec } = await compileC(source(fn, call), { filename: file });
    const ps = prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, runningKernel());
    const v = verifyProgram(
      ps,
      ps.programs.find((p) => p.name === 'prog')!,
      { kernelBtf: btf },
    );
    assert.equal(v.accepted, false, `${file}: ${v.message}`);
    assert.notEqual(v.unmodelled, true, v.message);
    assertKernelAgrees(file, v, kernelVerdictObject(ps, 'prog'));
  }
});
