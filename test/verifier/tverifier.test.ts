/**
 * The rules the raw test_verifier corpus showed missing (tverifier-cases.ts): bpfkit's verdict on each
 * program is held to the expectation there, and as root the running kernel judges every program too:
 * same verdict, same last log line, at the same instruction when the kernel's log names one. The scale
 * pattern's instruction count is held to the kernel's (the registers a helper call reads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProgram } from '../../src/isa/index.js';
import { loadProgram } from '../../src/kernel/index.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { BtfKind } from '../../src/btf/index.js';
import { type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import { buildCfg } from '../../src/verifier/cfg.js';
import { callArgCount } from '../../src/verifier/call-args.js';
import { HELPER_PROTOS } from '../../src/verifier/helpers.js';
import { needs } from '../support/env.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import {
  ATOMIC_CASES,
  ATTACH_CASES,
  CALL_CASES,
  KFUNC_ZERO_CASES,
  LDIMM64_CASES,
  type RawCase,
  SCALE_PROCESSED,
  SLEEPABLE_CASES,
  STRICT_CASES,
  livenessPrograms,
  raw,
  scaleProgram,
} from './tverifier-cases.js';

const BPF_F_SLEEPABLE = 1 << 4;
const BPF_F_STRICT_ALIGNMENT = 1 << 0;
const CASES = [
  ...LDIMM64_CASES,
  ...ATOMIC_CASES,
  ...SLEEPABLE_CASES,
  ...ATTACH_CASES,
  ...CALL_CASES,
  ...STRICT_CASES,
  ...KFUNC_ZERO_CASES,
];

/** The tracepoint's `btf_trace_<name>` typedef in the running kernel's BTF. */
const tpId = (tp: string): number => kernelBtf().byName(`btf_trace_${tp}`, BtfKind.TYPEDEF)!.id;

function verdict(c: RawCase): VerifyResult {
  return verifyInstructions(c.insns, {
    type: c.type,
    attachType: c.attach,
    maps: c.maps ?? [],
    sleepable: c.sleepable,
    strictAlignment: c.strict,
    ...(c.tp ? { kernelBtf: kernelBtf(), attachBtfId: tpId(c.tp) } : {}),
  });
}

test('raw corpus rules: bpfkit says what each case expects', (t) => {
  const btf = !skipWithoutBtf(t);
  for (const c of CASES) if (btf || !c.tp) assertWant(c.name, verdict(c), c.want);
});

test('raw corpus rules: the running kernel gives the same verdict, in the same words (root)', (t) => {
  if (!needs(t, { root: true }) || skipWithoutBtf(t)) return;
  for (const c of CASES) {
    const k = kernelVerdictRaw(
      c.insns,
      c.type,
      c.maps ?? [],
      c.attach,
      c.tp ? tpId(c.tp) : undefined,
      (c.sleepable ? BPF_F_SLEEPABLE : 0) | (c.strict ? BPF_F_STRICT_ALIGNMENT : 0),
    );
    assertKernelAgrees(c.name, verdict(c), k);
  }
});

test('raw corpus rules: a helper call reads only its arguments, so the scale pattern prunes as the kernel does', () => {
  const insns = scaleProgram(200, 100);
  // With r1-r5 live at every call, no branch would prune before the exit: many more instructions.
  const v = verifyInstructions(insns, { type: 1 });
  assert.equal(v.accepted, true, v.message);
  assert.equal(v.stats.processed, SCALE_PROCESSED);
  // And at the kernel's count as the limit, the verdict holds.
  assert.equal(verifyInstructions(insns, { type: 1, insnLimit: SCALE_PROCESSED }).accepted, true);
});

test('raw corpus rules: the kernel processes the scale pattern in as many instructions (root)', (t) => {
  if (!needs(t, { root: true })) return;
  const { fd, log } = loadProgram({
    name: 'scale',
    type: 1,
    insns: encodeProgram(scaleProgram(200, 100)),
    license: 'GPL',
    logLevel: 4,
  });
  closeFd(fd);
  assert.match(log, new RegExp(`processed ${SCALE_PROCESSED} insns`));
});

/** The kernel's "Live regs before insn" lines: r0-r9 live before each instruction, by slot. */
function kernelLiveness(log: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of log.matchAll(/^\s+(\d+): ([0-9.]{10}) \(/gm)) {
    let bits = 0;
    for (let r = 0; r < 10; r++) if (m[2]![r] !== '.') bits |= 1 << r;
    out.set(Number(m[1]), bits);
  }
  return out;
}

test("raw corpus rules: register liveness at each instruction is the kernel's (root)", (t) => {
  if (!needs(t, { root: true }) || skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const kfunc = (name: string) => btf.byName(name, BtfKind.FUNC)!.id;
  for (const p of livenessPrograms(kfunc)) {
    // The liveness is logged before the walk: a refused program shows it too.
    let log: string;
    try {
      const r = loadProgram({ name: 'live', type: p.type, insns: encodeProgram(p.insns), license: 'GPL', logLevel: 2 });
      closeFd(r.fd);
      log = r.log;
    } catch (err) {
      log = (err as { log?: string }).log ?? '';
    }
    const want = kernelLiveness(log);
    assert.ok(want.size > 0, `${p.name}: the kernel printed no liveness`);
    const cfg = buildCfg(p.insns, [], (call) => callArgCount(call, p.type, undefined, btf));
    for (const [pc, bits] of want)
      assert.equal((cfg.liveIn[pc]! & 0x3ff).toString(2), bits.toString(2), `${p.name}: insn ${pc}`);
  }
});

test('raw corpus rules: a helper call reads the registers the kernel says, for every type and listed helper (root)', (t) => {
  if (!needs(t, { root: true })) return;
  // [program type, expected attach type, prog_flags]: the types bpfkit models, as they load.
  const types: [number, number, number][] = [
    [1, 0, 0],
    [2, 0, 0],
    [3, 0, 0],
    [4, 0, 0],
    [5, 0, 0],
    [6, 0, 0],
    [7, 0, 0],
    [8, 0, 0],
    [9, 2, 0],
    [10, 0, 0],
    [11, 0, 0],
    [12, 0, 0],
    [13, 0, 0],
    [14, 0, 0],
    [15, 0, 0],
    [16, 0, 0],
    [17, 0, 0],
    [18, 8, 0],
    [18, 10, 0],
    [19, 0, 0],
    [21, 39, 0],
    [22, 0, 0],
    [23, 0, 0],
    [24, 0, 0],
    [25, 21, 0],
    [25, 22, 0],
    [30, 36, 0],
    [31, 0, BPF_F_SLEEPABLE],
  ];
  let compared = 0;
  for (const [type, attach, flags] of types)
    for (const id of HELPER_PROTOS.keys()) {
      // The liveness is logged before the walk, so a call the walk refuses shows it too.
      const insns = raw([[0xb7, 0, 0, 0, 0], [0x85, 0, 0, 0, id], [0xb7, 0, 0, 0, 0], [0x95]]);
      let log: string;
      try {
        const r = loadProgram({
          name: 'live',
          type,
          insns: encodeProgram(insns),
          license: 'GPL',
          expectedAttachType: attach,
          progFlags: flags,
          logLevel: 2,
        });
        closeFd(r.fd);
        log = r.log;
      } catch (err) {
        log = (err as { log?: string }).log ?? '';
      }
      const m = /^\s+1: ([0-9.]{10}) \(85\)/m.exec(log);
      if (!m) continue;
      const n = callArgCount(insns[1]!, type, attach, undefined);
      // Where bpfkit gives a count it is the kernel's; where it gives none, r1-r5 stay live (never fewer).
      if (n === undefined) continue;
      compared++;
      assert.equal(m[1]!.slice(1, 6), '12345'.slice(0, n).padEnd(5, '.'), `type ${type}/${attach} helper #${id}`);
    }
  assert.ok(compared > 1000, `only ${compared} calls compared`);
});
