/**
 * kfunc grammar programs for the oracle: each starts valid (a trusted task argument in a tp_btf program,
 * or a task looked up by pid; a map value with task kptrs) and goes on with random reference work —
 * tasks, cgroups and cpumasks acquired, maybe NULL-checked, read, spilled and filled, moved by an offset,
 * passed to the wrong kfunc, released once, twice, in one branch only or not at all, stashed in and taken
 * out of a map's kptr, inside and outside RCU and preemption sections, around a bpf_loop callback or a
 * static subprogram that takes its own reference. Programs name kfuncs, structs and members by name, as
 * kfunc-cases.ts's kfuncProgram resolves them in the kernel's BTF. Deterministic (seeded).
 */
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { type VerifierMap, type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import { rng } from './boundary-programs.js';
import { type KernelVerdict, kernelVerdictRaw } from './kernel-oracle.js';
import { TRACE_RAW_TP, TRACING, kfuncProgram } from './kfunc-cases.js';

/** One grammar program: its text (kfunc-cases.ts syntax), type and what it loads with. */
export interface KfuncGrammarProgram {
  name: string;
  type: number;
  /** tp_btf programs: the tracepoint (the task argument is trusted). */
  tp?: string;
  text: string;
  maps: VerifierMap[];
  /** Loaded sleepable (BPF_F_SLEEPABLE): syscall programs must be. */
  sleepable?: boolean;
}

/** BPF_PROG_TYPE_SYSCALL. */
const SYSCALL = 31;

/** struct { u64 a; struct task_struct __kptr *k; struct task_struct __kptr_untrusted *u; u64 b; } */
export const KFUNC_GRAMMAR_MAPS: VerifierMap[] = [
  {
    name: 'km',
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: 32,
    maxEntries: 1,
    readOnly: false,
    kernelFields: [
      { off: 8, size: 8, what: '__kptr', target: 'task_struct' },
      { off: 16, size: 8, what: '__kptr_untrusted', target: 'task_struct' },
    ],
  },
];

/** `count` kfunc grammar programs from `seed`. */
export function kfuncGrammarPrograms(count: number, seed = 0xf00c): KfuncGrammarProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // r6: a task reference (or what became of it), r7: a cgroup or cpumask reference, r8: the map value,
  // r9: the trusted task (the argument, or one by pid, already checked).
  const taskSrc = () =>
    pick([
      'r1 = r9',
      'r1 = r6',
      'r1 = *(u64 *)(r9 + off(task_struct.real_parent))',
      'r1 = *(u64 *)(r9 + off(task_struct.last_wakee))',
      'r1 = *(u64 *)(r8 + 8)',
      'r1 = *(u64 *)(r8 + 16)',
      'r1 = *(u64 *)(r10 - 8)',
      'r1 = r9\nr2 = btfid(task_struct)\ncall kfunc bpf_rdonly_cast\nr1 = r0',
      'r1 = 0',
      'r1 = r10\nr1 += -16',
    ]);
  let label = 0;
  // Most acquisitions are NULL-checked at once (the rest meet the kernel's NULL checks).
  const check = (reg: string) => (r() < 0.6 ? `\nif ${reg} == 0 goto out` : '');
  const ops: (() => string)[] = [
    () => `${taskSrc()}\ncall kfunc bpf_task_acquire\nr6 = r0${check('r6')}`,
    () =>
      `r1 = ${pick([1, 0, 99999])}\ncall kfunc ${pick(['bpf_task_from_pid', 'bpf_task_from_vpid'])}\nr6 = r0${check('r6')}`,
    () => `if r6 == 0 goto out`,
    () => `if r${pick([6, 7])} ${pick(['==', '!='])} 0 goto +${pick([1, 2, 3])}`,
    () => `r1 = r6\ncall kfunc bpf_task_release`,
    () => `r1 = r6\nr1 += ${pick([8, -8, 0])}\ncall kfunc bpf_task_release`,
    () => `r1 = r6\ncall kfunc ${pick(['bpf_cgroup_release', 'bpf_cpumask_release', 'bpf_cgroup_acquire'])}`,
    () => `r0 = *(u${pick([32, 64])} *)(r6 + ${pick(['off(task_struct.pid)', 'off(task_struct.flags)', '0'])})`,
    () =>
      `r1 = *(u64 *)(r6 + off(task_struct.${pick(['real_parent', 'last_wakee', 'group_leader'])}))\nr0 = *(u32 *)(r1 + off(task_struct.pid))`,
    () => `*(u64 *)(r10 - 8) = r${pick([6, 7, 9])}`,
    () => `r6 = *(u64 *)(r10 - 8)`,
    () => `*(u32 *)(r10 - ${pick([4, 8])}) = 0`,
    () => `r6 += ${pick([8, 16, -8])}`,
    () => `r2 = r6\nr6 = r7\nr7 = r2`,
    () => `call 7\nif r0 > ${pick([100, 1 << 30, 3 << 30])} goto +2\nr1 = r6\ncall kfunc bpf_task_release`,
    () => `call kfunc bpf_rcu_read_lock`,
    () => `call kfunc bpf_rcu_read_unlock`,
    () => `call kfunc ${pick(['bpf_preempt_disable', 'bpf_preempt_enable'])}`,
    // Cgroups and cpumasks in r7.
    () => `r1 = ${pick([1, 0])}\ncall kfunc bpf_cgroup_from_id\nr7 = r0${check('r7')}`,
    () => `r1 = r7\nr2 = ${pick([0, 1])}\ncall kfunc bpf_cgroup_ancestor\nr7 = r0${check('r7')}`,
    () => `r1 = r7\ncall kfunc ${pick(['bpf_cgroup_release', 'bpf_cgroup_acquire'])}`,
    () => `call kfunc bpf_cpumask_create\nr7 = r0${check('r7')}`,
    () => `r1 = r7\ncall kfunc ${pick(['bpf_cpumask_release', 'bpf_cpumask_acquire', 'bpf_task_release'])}`,
    () =>
      `r1 = ${pick([0, 1, 5000])}\nr2 = r7\ncall kfunc ${pick(['bpf_cpumask_set_cpu', 'bpf_cpumask_test_cpu', 'bpf_cpumask_clear_cpu'])}`,
    () => `r1 = r${pick([7, 6])}\ncall kfunc ${pick(['bpf_cpumask_first', 'bpf_cpumask_weight', 'bpf_cpumask_empty'])}`,
    () => `r1 = *(u64 *)(r9 + off(task_struct.cpus_ptr))\ncall kfunc bpf_cpumask_first`,
    // The map's kptrs.
    () => `r1 = r8\nr1 += ${pick([8, 8, 16, 0])}\nr2 = ${pick(['r6', 'r7', '0', 'r9'])}\ncall 194\nr6 = r0`,
    () => `r1 = *(u64 *)(r8 + ${pick([8, 16])})\nr0 = *(u32 *)(r1 + off(task_struct.pid))`,
    () => `*(u64 *)(r8 + ${pick([8, 16])}) = ${pick(['r6', 'r9', '0'])}`,
    // A callback and a subprogram, each with references of their own.
    () => `r1 = ${pick([1, 3])}\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 181`,
    () => `call sub\n${pick(['r6 = r0', 'r0 = 0'])}`,
    // Under RCU: a kptr or an RCU field loaded, checked, acquired.
    () => {
      label++;
      const load = pick([
        `r1 = *(u64 *)(r8 + ${pick([8, 16])})`,
        'r1 = *(u64 *)(r9 + off(task_struct.real_parent))',
        'r1 = *(u64 *)(r9 + off(task_struct.cgroups))\nr1 = *(u64 *)(r1 + off(css_set.dfl_cgrp))',
      ]);
      const acq = load.includes('dfl_cgrp') ? 'bpf_cgroup_acquire\nr7 = r0' : 'bpf_task_acquire\nr6 = r0';
      return `${r() < 0.8 ? 'call kfunc bpf_rcu_read_lock\n' : ''}${load}\n${r() < 0.7 ? `if r1 == 0 goto u${label}\n` : ''}call kfunc ${acq}\nu${label}:\n${r() < 0.8 ? 'call kfunc bpf_rcu_read_unlock' : ''}`;
    },
    () => `call 158\nr1 = r0\ncall kfunc bpf_task_acquire\nr6 = r0${check('r6')}`,
    () => `r1 = r${pick([6, 9, 7])}\nr2 = r7\ncall kfunc bpf_task_under_cgroup`,
    () =>
      `r1 = r${pick([6, 8, 7])}\nr2 = btfid(${pick(['task_struct', 'cgroup'])})\ncall kfunc bpf_rdonly_cast\nr0 = *(u32 *)(r0 + ${pick([0, 8, 'off(task_struct.pid)'])})`,
    () => `r1 = r7\nr2 = r7\nr3 = r${pick([7, 6])}\ncall kfunc ${pick(['bpf_cpumask_and', 'bpf_cpumask_or'])}`,
    () => `r1 = r7\nr2 = *(u64 *)(r9 + off(task_struct.cpus_ptr))\ncall kfunc bpf_cpumask_copy`,
    // A reference handed to a subprogram that releases it, or to a callback through the stack.
    () => `r1 = r${pick([6, 6, 9, 7])}\ncall rel`,
    () => `*(u64 *)(r10 - 16) = r6\nr1 = 1\nr2 = func cbrel\nr3 = r10\nr3 += -16\nr4 = 0\ncall 181`,
    () => {
      label++;
      return `call 7\nif r0 > 5 goto b${label}\nr1 = r6\ncall kfunc bpf_task_release\nr6 = 0\nb${label}:`;
    },
  ];
  // Blocks that hold no reference past their end and leave every section closed (r6, r7 untouched).
  const wellFormed: (() => string)[] = [
    () => {
      label++;
      const use = pick([
        'r0 = *(u32 *)(r1 + off(task_struct.pid))',
        'r2 = *(u64 *)(r1 + off(task_struct.real_parent))\nr0 = *(u32 *)(r2 + off(task_struct.pid))',
        '*(u64 *)(r10 - 32) = r1\nr1 = *(u64 *)(r10 - 32)',
        'r2 = r1\nr2 += 8\nr0 = *(u64 *)(r2 + 0)',
      ]);
      return `${pick(['r1 = r9', 'call 158\nr1 = r0'])}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto w${label}\nr1 = r0\n*(u64 *)(r10 - 40) = r0\n${use}\nr1 = *(u64 *)(r10 - 40)\ncall kfunc bpf_task_release\nw${label}:`;
    },
    () => {
      label++;
      return `call kfunc bpf_rcu_read_lock\nr1 = *(u64 *)(r9 + off(task_struct.${pick(['real_parent', 'group_leader'])}))\n${pick(['', 'if r1 == 0 goto w' + label + '\n'])}r0 = *(u32 *)(r1 + off(task_struct.pid))\nw${label}:\ncall kfunc bpf_rcu_read_unlock`;
    },
    () => {
      label++;
      return `r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto w${label}\nr1 = r8\nr1 += 8\nr2 = r0\ncall 194\nif r0 == 0 goto w${label}\nr1 = r0\ncall kfunc bpf_task_release\nw${label}:`;
    },
    () => {
      label++;
      return `call kfunc bpf_rcu_read_lock\nr1 = *(u64 *)(r8 + 8)\nif r1 == 0 goto x${label}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto x${label}\nr1 = r0\ncall kfunc bpf_task_release\nx${label}:\ncall kfunc bpf_rcu_read_unlock`;
    },
    () => {
      label++;
      return `r1 = 1\ncall kfunc bpf_cgroup_from_id\nif r0 == 0 goto w${label}\n*(u64 *)(r10 - 40) = r0\nr1 = r0\nr2 = 0\ncall kfunc bpf_cgroup_ancestor\nif r0 == 0 goto y${label}\nr1 = r0\ncall kfunc bpf_cgroup_release\ny${label}:\nr1 = *(u64 *)(r10 - 40)\ncall kfunc bpf_cgroup_release\nw${label}:`;
    },
    () => {
      label++;
      return `call kfunc bpf_cpumask_create\nif r0 == 0 goto w${label}\n*(u64 *)(r10 - 40) = r0\nr2 = r0\nr1 = ${pick([0, 1])}\ncall kfunc bpf_cpumask_set_cpu\nr1 = *(u64 *)(r10 - 40)\ncall kfunc bpf_cpumask_first\nr1 = *(u64 *)(r10 - 40)\ncall kfunc bpf_cpumask_release\nw${label}:`;
    },
    () => `call kfunc bpf_preempt_disable\nr0 = *(u32 *)(r9 + off(task_struct.pid))\ncall kfunc bpf_preempt_enable`,
    () => `r1 = ${pick([1, 2])}\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 181`,
    () => `call sub`,
    () => `r1 = r9\nr2 = btfid(task_struct)\ncall kfunc bpf_rdonly_cast\nr0 = *(u32 *)(r0 + off(task_struct.pid))`,
  ];
  // The callback and subprogram bodies.
  const inner = () =>
    pick([
      'r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto +2\nr1 = r0\ncall kfunc bpf_task_release',
      'r1 = 1\ncall kfunc bpf_task_from_pid',
      'call kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_unlock',
      'call kfunc bpf_rcu_read_unlock',
      'call kfunc bpf_cpumask_create\nif r0 == 0 goto +2\nr1 = r0\ncall kfunc bpf_cpumask_release',
      'r0 = 0',
    ]);
  const cleanup = () =>
    [
      r() < 0.75 ? 'if r6 == 0 goto +2\nr1 = r6\ncall kfunc bpf_task_release' : '',
      r() < 0.5 ? `if r7 == 0 goto +2\nr1 = r7\ncall kfunc ${pick(['bpf_cgroup_release', 'bpf_cpumask_release'])}` : '',
    ].filter((x) => x !== '');
  const out: KfuncGrammarProgram[] = [];
  for (let n = 0; n < count; n++) {
    label = 0;
    const kind = pick(['tp', 'tp', 'tp', 'cls', 'xdp', 'syscall'] as const);
    const type =
      kind === 'tp' ? TRACING : kind === 'cls' ? ProgType.SCHED_CLS : kind === 'xdp' ? ProgType.XDP : SYSCALL;
    const task =
      kind === 'tp'
        ? ['r9 = *(u64 *)(r1 + 0)']
        : ['r1 = 1', 'call kfunc bpf_task_from_pid', 'if r0 == 0 goto none', '*(u64 *)(r10 - 24) = r0', 'r9 = r0'];
    const setup = [
      ...task,
      'r6 = 0',
      'r7 = 0',
      '*(u64 *)(r10 - 8) = r6',
      '*(u32 *)(r10 - 4) = 0',
      'r2 = r10',
      'r2 += -4',
      'r1 = map 0',
      'call 1',
      'if r0 == 0 goto out',
      'r8 = r0',
      // Most programs start holding a task (and some a cgroup or cpumask), checked.
      ...(r() < 0.7 ? ['r1 = r9', 'call kfunc bpf_task_acquire', 'if r0 == 0 goto out', 'r6 = r0'] : []),
      ...(r() < 0.4
        ? [pick(['r1 = 1\ncall kfunc bpf_cgroup_from_id', 'call kfunc bpf_cpumask_create']), 'r7 = r0']
        : []),
    ];
    // Some programs use only whole, well-formed blocks, so that many load and a wrong refusal shows.
    const careful = r() < 0.4;
    const body: string[] = [];
    for (let i = 0, len = 1 + Math.floor(r() * 6); i < len; i++) body.push(pick(careful ? wellFormed : ops)());
    const lines = [
      ...setup,
      ...body,
      ...cleanup(),
      'out:',
      ...(kind === 'tp' ? [] : ['r1 = *(u64 *)(r10 - 24)', 'call kfunc bpf_task_release']),
      'r0 = 0',
      'exit',
      // Only code some path reaches: the kernel refuses an unreachable insn.
      ...(kind === 'tp' ? [] : ['none:', 'r0 = 0', 'exit']),
    ];
    const text = body.join('\n');
    if (text.includes('func cb')) lines.push('cb:', inner(), 'r0 = 0', 'exit');
    if (text.includes('call sub')) lines.push('sub:', inner(), 'r0 = 0', 'exit');
    if (text.includes('call rel'))
      lines.push('rel:', pick(['', 'if r1 == 0 goto +1']), 'call kfunc bpf_task_release', 'r0 = 0', 'exit');
    if (text.includes('func cbrel'))
      lines.push(
        'cbrel:',
        'r1 = *(u64 *)(r2 + 0)',
        pick(['', 'if r1 == 0 goto +1']),
        'call kfunc bpf_task_release',
        'r0 = 0',
        'exit',
      );
    out.push({
      name: `kfunc grammar ${n}`,
      type,
      ...(kind === 'tp' ? { tp: 'task_newtask' } : {}),
      text: lines.join('\n'),
      maps: KFUNC_GRAMMAR_MAPS,
      ...(kind === 'syscall' ? { sleepable: true } : {}),
    });
  }
  return out;
}

/** bpfkit's verdict on a grammar program, its kfuncs and structs resolved in `btf` (the kernel's). */
export function kfuncGrammarVerdict(btf: Btf, p: KfuncGrammarProgram): VerifyResult {
  return verifyInstructions(kfuncProgram(btf, p.text), {
    type: p.type,
    maps: p.maps,
    funcInfo: true,
    kernelBtf: btf,
    ...(p.sleepable ? { sleepable: true } : {}),
    ...(p.tp ? { attachType: TRACE_RAW_TP, attachBtfName: `btf_trace_${p.tp}` } : {}),
  });
}

/** The running kernel's verdict on a grammar program (root): loaded with BTF func_info, sleepable if it is. */
export function kfuncGrammarKernel(btf: Btf, p: KfuncGrammarProgram): KernelVerdict {
  const tpId = p.tp ? btf.byName(`btf_trace_${p.tp}`, BtfKind.TYPEDEF)!.id : undefined;
  // BPF_F_SLEEPABLE is 1 << 4.
  const flags = p.sleepable ? 1 << 4 : 0;
  return kernelVerdictRaw(
    kfuncProgram(btf, p.text),
    p.type,
    p.maps,
    p.tp ? TRACE_RAW_TP : undefined,
    tpId,
    flags,
    'GPL',
    true,
  );
}
