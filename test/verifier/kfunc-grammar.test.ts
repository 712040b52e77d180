/**
 * The kfunc grammar (kfunc-grammar-programs.ts) against the running kernel: references to tasks, cgroups
 * and cpumasks taken, checked, used, moved, stashed and released at random, in tp_btf, sched_cls, xdp and
 * syscall programs. Every program bpfkit gives a verdict on gets the kernel's (same instruction, same last
 * line); the rest are honestly not modelled, and there must be few of them. Also the rule the fuzz found
 * missing: a referenced pointer is trusted (is_trusted_reg), so its listed RCU fields load as MEM_RCU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgType } from '../../src/uapi/types.js';
import { needs } from '../support/env.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { TRACING } from './kfunc-cases.js';
import {
  KFUNC_GRAMMAR_MAPS,
  type KfuncGrammarProgram,
  kfuncGrammarKernel,
  kfuncGrammarPrograms,
  kfuncGrammarVerdict,
} from './kfunc-grammar-programs.js';

/** A task by pid (insn 1), its `field` loaded (insn 4) and passed to bpf_task_acquire (insn 5), all released. */
const refField = (field: string) => `r1 = 1
call kfunc bpf_task_from_pid
if r0 == 0 goto out
r9 = r0
r1 = *(u64 *)(r9 + off(task_struct.${field}))
call kfunc bpf_task_acquire
if r0 == 0 goto rel
r1 = r0
call kfunc bpf_task_release
rel:
r1 = r9
call kfunc bpf_task_release
out:
r0 = 0
exit`;

/** The map value of key 0 in r8 (insns 0-7, the map's lddw two); `out:` exits at the end. */
const LOOKUP = '*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr8 = r0';
const END = 'out:\nr0 = 0\nexit';
/** A task by pid put in the kptr at `at` (the call is insn 14), the old one released (`keep` replaces that). */
const xchg = (at: string, keep?: string) =>
  `${LOOKUP}\nr1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto out\nr1 = r8\n${at}\nr2 = r0\ncall 194\nif r0 == 0 goto out\n${keep ?? 'r1 = r0\ncall kfunc bpf_task_release'}\n${END}`;

/** Cases of the referenced task's fields, each as the kernel (Linux 6.18) judges it. */
const REF_TRUST: { p: KfuncGrammarProgram; want: Want }[] = (
  [
    ['real_parent', { ok: true }],
    ['group_leader', { ok: true }],
    ['parent', { pc: 5, re: /^R1 must be a rcu pointer$/ }],
    ['last_wakee', { pc: 5, re: /^R1 must be a rcu pointer$/ }],
    [
      'cgroups',
      {
        pc: 5,
        re: /^kernel function bpf_task_acquire args#0 expected pointer to STRUCT task_struct but R1 has a pointer to STRUCT css_set$/,
      },
    ],
  ] as [string, Want][]
).flatMap(([field, want]) =>
  [ProgType.SCHED_CLS, TRACING].map((type) => ({
    p: {
      name: `${field} of a referenced task (type ${type})`,
      type,
      ...(type === TRACING ? { tp: 'task_newtask' } : {}),
      text: refField(field),
      maps: KFUNC_GRAMMAR_MAPS,
    },
    want,
  })),
);

test("kfunc grammar: a referenced task's RCU fields load as a trusted task's do", (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  // A cpumask walked from a referenced task is RCU, so cpumask kfuncs take it (in tp_btf: not in sched_cls).
  const cpus: KfuncGrammarProgram = {
    ...REF_TRUST[1]!.p,
    name: 'cpus_ptr of a referenced task (tp_btf)',
    text: refField('cpus_ptr').replace(
      'call kfunc bpf_task_acquire\nif r0 == 0 goto rel\nr1 = r0\ncall kfunc bpf_task_release',
      'call kfunc bpf_cpumask_first',
    ),
  };
  for (const { p, want } of [...REF_TRUST, { p: cpus, want: { ok: true } as Want }]) {
    const v = kfuncGrammarVerdict(btf, p);
    assertWant(p.name, v, want);
    if (needs(t, { root: true })) assertKernelAgrees(p.name, v, kfuncGrammarKernel(btf, p));
  }
});

test("kfunc grammar: in a sleepable program, outside RCU, a referenced task's RCU fields load untrusted", (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const syscall = (name: string, text: string): KfuncGrammarProgram => ({
    name,
    type: 31, // BPF_PROG_TYPE_SYSCALL
    sleepable: true,
    text,
    maps: KFUNC_GRAMMAR_MAPS,
  });
  const rcu: Want = { pc: 5, re: /^R1 must be a rcu pointer$/ };
  const cases: { p: KfuncGrammarProgram; want: Want }[] = [
    ...['real_parent', 'group_leader', 'cpus_ptr', 'cgroups', 'last_wakee'].map((f) => ({
      p: syscall(`${f} of a referenced task (syscall)`, refField(f)),
      want: rcu,
    })),
    {
      // bpf_task_pt_regs (insn 6) takes a task: not an untrusted one.
      p: syscall(
        'real_parent of a referenced task given to bpf_task_pt_regs (syscall)',
        refField('real_parent').replace('call kfunc bpf_task_acquire', 'call 175'),
      ),
      want: { pc: 5, re: /^R1 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_$/ },
    },
    {
      // A scalar field reads as in any program (the walk is insn 4, the read insn 5).
      p: syscall(
        'pid of a referenced task read (syscall)',
        refField('real_parent').replace(
          'call kfunc bpf_task_acquire',
          'r0 = *(u32 *)(r1 + off(task_struct.pid))\nr0 = 0',
        ),
      ),
      want: { ok: true },
    },
    // The map value's kptrs: a referenced one loads untrusted outside RCU (the acquire is insn 11),
    // and bpf_kptr_xchg (insn 14) trades a referenced task for the old one as anywhere.
    {
      p: syscall(
        'kptr loaded (syscall)',
        `${LOOKUP}\nr1 = *(u64 *)(r8 + 8)\nif r1 == 0 goto out\nr2 = btfid(task_struct)\ncall kfunc bpf_task_acquire\n${END}`,
      ),
      want: { pc: 11, re: /^R1 must be a rcu pointer$/ },
    },
    { p: syscall('kptr exchanged (syscall)', xchg('r1 += 8')), want: { ok: true } },
    {
      p: syscall('kptr exchanged, the old one leaked (syscall)', xchg('r1 += 8', 'r0 = 0')),
      want: { pc: 18, re: /reference leak$/ },
    },
    {
      p: syscall('untrusted kptr exchanged (syscall)', xchg('r1 += 16')),
      want: { pc: 14, re: /^off=16 kptr isn't referenced kptr$/ },
    },
  ];
  for (const { p, want } of cases) {
    const v = kfuncGrammarVerdict(btf, p);
    assertWant(p.name, v, want);
    if (needs(t, { root: true })) assertKernelAgrees(p.name, v, kfuncGrammarKernel(btf, p));
  }
});

/** A referenced task's real_parent walked in the section `open` opens (insn 4), acquired (insn 8) inside it or after `close`. */
const section = (open: string, close: string, acquireInside: boolean) => `r1 = 1
call kfunc bpf_task_from_pid
if r0 == 0 goto out
r9 = r0
call kfunc ${open}
r6 = *(u64 *)(r9 + off(task_struct.real_parent))
${acquireInside ? 'r0 = 0' : `call kfunc ${close}`}
r1 = r6
call kfunc bpf_task_acquire
${acquireInside ? `r6 = r0\ncall kfunc ${close}\nr0 = r6` : ''}
if r0 == 0 goto rel
r1 = r0
call kfunc bpf_task_release
rel:
r1 = r9
call kfunc bpf_task_release
out:
r0 = 0
exit`;

test('kfunc grammar: RCU and preemption sections in a sleepable program', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const syscall = (name: string, text: string): KfuncGrammarProgram => ({
    name,
    type: 31, // BPF_PROG_TYPE_SYSCALL
    sleepable: true,
    text,
    maps: KFUNC_GRAMMAR_MAPS,
  });
  const copy = (open: string, close: string) =>
    `call kfunc ${open}\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\ncall kfunc ${close}\nr0 = 0\nexit`;
  const cases: { p: KfuncGrammarProgram; want: Want }[] = [
    // In an RCU read section a walk to an RCU field is MEM_RCU; once it ends, untrusted.
    {
      p: syscall('real_parent acquired inside RCU', section('bpf_rcu_read_lock', 'bpf_rcu_read_unlock', true)),
      want: { ok: true },
    },
    {
      p: syscall('real_parent acquired after RCU', section('bpf_rcu_read_lock', 'bpf_rcu_read_unlock', false)),
      want: { pc: 8, re: /^R1 must be a rcu pointer$/ },
    },
    // Preemption disabled is no RCU read section for the verifier.
    {
      p: syscall(
        'real_parent acquired with preemption off',
        section('bpf_preempt_disable', 'bpf_preempt_enable', true),
      ),
      want: { pc: 8, re: /^R1 must be a rcu pointer$/ },
    },
    // A kptr loaded in an RCU read section is MEM_RCU (maybe NULL), so acquired once checked.
    {
      p: syscall(
        'kptr acquired inside RCU',
        `${LOOKUP}\ncall kfunc bpf_rcu_read_lock\nr1 = *(u64 *)(r8 + 8)\nif r1 == 0 goto unlock\ncall kfunc bpf_task_acquire\nif r0 == 0 goto unlock\nr1 = r0\ncall kfunc bpf_task_release\nunlock:\ncall kfunc bpf_rcu_read_unlock\n${END}`,
      ),
      want: { ok: true },
    },
    // A helper that may sleep, inside either section (insn 5).
    {
      p: syscall('bpf_copy_from_user inside RCU', copy('bpf_rcu_read_lock', 'bpf_rcu_read_unlock')),
      want: { pc: 5, re: /^sleepable helper bpf_copy_from_user#148 in rcu_read_lock region$/ },
    },
    {
      p: syscall('bpf_copy_from_user with preemption off', copy('bpf_preempt_disable', 'bpf_preempt_enable')),
      want: { pc: 5, re: /^sleepable helper bpf_copy_from_user#148 in non-preemptible region$/ },
    },
    {
      p: syscall('exit inside RCU', 'call kfunc bpf_rcu_read_lock\nr0 = 0\nexit'),
      want: { pc: 2, re: /^BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region$/ },
    },
  ];
  for (const { p, want } of cases) {
    const v = kfuncGrammarVerdict(btf, p);
    assertWant(p.name, v, want);
    if (needs(t, { root: true })) assertKernelAgrees(p.name, v, kfuncGrammarKernel(btf, p));
  }
});

/**
 * bpf_loop (count 2) or bpf_for_each_map_elem over map 0 calls `body` (the call is insn 7 when `before` is
 * empty); `after` follows the call, then the program exits (insn 9 when `after` is empty).
 */
const loop = (body: string, before = '', after = '', forEach = false) =>
  `${before}\n${forEach ? 'r1 = map 0' : 'r1 = 2\nr0 = 0'}\nr2 = func cb\nr3 = r10\nr3 += -16\nr4 = 0\ncall ${forEach ? 164 : 181}\n${after}\nr0 = 0\nexit\ncb:\n${body}\nr0 = 0\nexit`;

test('kfunc grammar: references and sections in a callback belong to the path, as in the main program', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const tp = (name: string, text: string): KfuncGrammarProgram => ({
    name,
    type: TRACING,
    tp: 'task_newtask',
    text,
    maps: KFUNC_GRAMMAR_MAPS,
  });
  const byPid = 'r1 = 1\ncall kfunc bpf_task_from_pid';
  const released = `${byPid}\nif r0 == 0 goto +2\nr1 = r0\ncall kfunc bpf_task_release`;
  const exitIn = (section: string): Want => ({
    pc: 9,
    re: new RegExp(`^BPF_EXIT instruction in main prog cannot be used inside ${section}-ed region$`),
  });
  const cases: { p: KfuncGrammarProgram; want: Want }[] = [
    { p: tp('a task taken and released in bpf_loop', loop(released)), want: { ok: true } },
    { p: tp('a task taken and released in for_each', loop(released, '', '', true)), want: { ok: true } },
    {
      p: tp('a task taken in bpf_loop, leaked', loop(byPid)),
      want: { pc: 9, re: /^BPF_EXIT instruction in main prog would lead to reference leak$/ },
    },
    {
      p: tp('a task taken in for_each, leaked', loop(byPid, '', '', true)),
      want: { pc: 9, re: /^BPF_EXIT instruction in main prog would lead to reference leak$/ },
    },
    { p: tp('RCU opened in bpf_loop', loop('call kfunc bpf_rcu_read_lock')), want: exitIn('bpf_rcu_read_lock') },
    {
      p: tp('preemption off in bpf_loop', loop('call kfunc bpf_preempt_disable')),
      want: exitIn('bpf_preempt_disable'),
    },
    {
      // The path that skips the callback reaches the unlock with no section open.
      p: tp(
        'RCU opened in bpf_loop, closed after',
        loop('call kfunc bpf_rcu_read_lock', '', 'call kfunc bpf_rcu_read_unlock'),
      ),
      want: { pc: 8, re: /^unmatched rcu read unlock \(kernel function bpf_rcu_read_unlock\)$/ },
    },
    {
      p: tp(
        'RCU around bpf_loop, a walk acquired in the callback',
        loop(
          `r1 = *(u64 *)(r2 + 0)\nr1 = *(u64 *)(r1 + off(task_struct.real_parent))\ncall kfunc bpf_task_acquire\nif r0 == 0 goto +2\nr1 = r0\ncall kfunc bpf_task_release`,
          'r1 = *(u64 *)(r1 + 0)\n*(u64 *)(r10 - 16) = r1\ncall kfunc bpf_rcu_read_lock',
          'call kfunc bpf_rcu_read_unlock',
        ),
      ),
      want: { ok: true },
    },
  ];
  for (const { p, want } of cases) {
    const v = kfuncGrammarVerdict(btf, p);
    assertWant(p.name, v, want);
    if (needs(t, { root: true })) assertKernelAgrees(p.name, v, kfuncGrammarKernel(btf, p));
  }
});

test('kfunc grammar: references taken, used and released at random, judged as the kernel does (seeded, root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  const programs = kfuncGrammarPrograms(300);
  let unmodelled = 0;
  let loaded = 0;
  for (const p of programs) {
    const v = kfuncGrammarVerdict(btf, p);
    const k = kfuncGrammarKernel(btf, p);
    if (k.accepted) loaded++;
    if (v.unmodelled) {
      unmodelled++;
      continue;
    }
    assertKernelAgrees(`${p.name}\n${p.text}\n`, v, k);
  }
  assert.ok(loaded >= 30, `${loaded} of ${programs.length} load: the grammar should reach loadable programs`);
  assert.ok(unmodelled <= 4, `${unmodelled} of ${programs.length} not modelled`);
});
