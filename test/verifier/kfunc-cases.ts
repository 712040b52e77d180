/**
 * kfunc call programs (src/verifier/kfunc.ts), each with the verdict the running kernel (6.18) gives:
 * tasks, cgroups and cpumasks acquired and released (leaks, double releases, NULL and untrusted
 * arguments, wrong structs, offsets), the program types each kfunc set is registered for, RCU read
 * sections and preemption, and the casts. Programs name kfuncs by name (`call kfunc bpf_task_acquire`),
 * structs by `btfid(task_struct)` and members by `off(task_struct.cpus_mask)`; kfuncProgram resolves
 * them in the kernel's BTF, as the loader relocates a kfunc extern. `label:` lines as in sock-ptr-cases.ts.
 */
import { type Btf, BtfKind } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import type { Want } from './expect.js';
import { sockProgram } from './sock-ptr-cases.js';

/** One program and what the kernel says of it. */
export interface KfuncCase {
  name: string;
  type: number;
  attach?: number;
  /** tp_btf programs: the tracepoint (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP). */
  tp?: string;
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const UNMODELLED: Want = { unmodelled: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.{}]/g, '\\$&')}$`) });

/** BPF_PROG_TYPE_TRACING and BPF_TRACE_RAW_TP. */
export const TRACING = 26;
export const TRACE_RAW_TP = 23;

/** Byte offset of `struct s`'s member `m` in the kernel's BTF. */
function memberOffset(btf: Btf, s: string, m: string): number {
  const t = btf.byName(s, BtfKind.STRUCT);
  const mem = t?.members.find((x) => x.name === m);
  if (!mem) throw new Error(`no member ${s}.${m} in the kernel's BTF`);
  return mem.offset / 8;
}

/** Assemble a case, its kfunc names, struct ids and member offsets resolved in `btf`. */
export function kfuncProgram(btf: Btf, text: string): Instruction[] {
  const resolved = text
    .replace(/call kfunc (\w+)/g, (_, n: string) => {
      const f = btf.byName(n, BtfKind.FUNC);
      if (!f) throw new Error(`no kfunc ${n} in the kernel's BTF`);
      return `call kfunc ${f.id}`;
    })
    .replace(/btfid\((\w+)\)/g, (_, n: string) => String(btf.byName(n, BtfKind.STRUCT)!.id))
    .replace(/off\((\w+)\.(\w+)\)/g, (_, s: string, m: string) => String(memberOffset(btf, s, m)));
  return sockProgram(resolved);
}

const task = { type: TRACING, tp: 'task_newtask' } as const;
const cgroupTp = { type: TRACING, tp: 'cgroup_mkdir' } as const;
/** task_newtask's task argument in r1 (trusted, never NULL). */
const ARG = 'r1 = *(u64 *)(r1 + 0)';
const END = 'out:\nr0 = 0\nexit';
/** Acquire the argument task, release it when not NULL. */
const acquireRelease = `${ARG}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_release\n${END}`;

/** A task looked up by pid, then released, in a program of type `type`. */
const fromPid = `r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_release\n${END}`;
const cpumask = `call kfunc bpf_cpumask_create\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_cpumask_release\n${END}`;
const rcu = 'call kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_unlock\nr0 = 0\nexit';

/** The current task (bpf_get_current_task_btf) acquired, then released (the acquire is insn 2). */
const current = `call 158\nr1 = r0\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_release\n${END}`;

/** cgroup_sock_addr with BPF_CGROUP_INET4_CONNECT. */
const sockAddr = { type: ProgType.CGROUP_SOCK_ADDR, attach: 10 } as const;
/** bpf_sock_addr_set_sun_path on the kernel context, fp-8 zeroed; `size` sets r3, `mem` r2 (the call is insn 7). */
const sunPath = (size: string, mem = 'r2 = r10\nr2 += -8') =>
  `call kfunc bpf_cast_to_kern_ctx\nr1 = r0\nr2 = 0\n*(u64 *)(r10 - 8) = r2\n${mem.includes('\n') ? mem : `${mem}\nr2 = r2`}\n${size}\ncall kfunc bpf_sock_addr_set_sun_path\nr0 = 1\nexit`;

/** The cases. */
/** A case's expected attach type: tp_btf's for a tracepoint case, else its own. */
export const attachOf = (c: KfuncCase): number | undefined => (c.tp ? TRACE_RAW_TP : c.attach);

/** bpfkit's verdict on a kfunc case, its kfuncs resolved in `btf` (the kernel's). */
export function kfuncVerdict(btf: Btf, c: KfuncCase, license?: string): VerifyResult {
  return verifyInstructions(kfuncProgram(btf, c.text), {
    type: c.type,
    attachType: attachOf(c),
    kernelBtf: btf,
    ...(c.tp ? { attachBtfName: `btf_trace_${c.tp}` } : {}),
    ...(license ? { license } : {}),
  });
}

export const KFUNC_CASES: readonly KfuncCase[] = [
  // References: acquire and release.
  { name: 'task acquired and released', ...task, text: acquireRelease, want: OK },
  {
    name: 'task acquired, not released',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nr0 = 0\nexit`,
    want: at(3, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'task released only when NULL',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nif r0 != 0 goto keep\nr0 = 0\nexit\nkeep:\nr0 = 0\nexit`,
    want: at(6, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'acquired task not NULL-checked before release',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nr1 = r0\ncall kfunc bpf_task_release\nr0 = 0\nexit`,
    want: at(3, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'NULL passed to bpf_task_acquire',
    ...task,
    text: 'r1 = 0\ncall kfunc bpf_task_acquire\nr0 = 0\nexit',
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'unacquired task released',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_release\nr0 = 0\nexit`,
    want: at(1, 'release kernel function bpf_task_release expects refcounted PTR_TO_BTF_ID'),
  },
  {
    name: 'task released twice (the spilled copy too)',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\n*(u64 *)(r10 - 8) = r0\nr1 = r0\ncall kfunc bpf_task_release\nr1 = *(u64 *)(r10 - 8)\ncall kfunc bpf_task_release\n${END}`,
    want: at(7, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'),
  },
  {
    name: 'stack pointer passed as a task',
    ...task,
    text: 'r1 = r10\nr1 += -8\ncall kfunc bpf_task_acquire\nr0 = 0\nexit',
    want: at(2, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'),
  },
  {
    name: 'scalar passed as a task',
    ...task,
    text: 'r1 = 7\ncall kfunc bpf_task_acquire\nr0 = 0\nexit',
    want: at(1, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'),
  },
  {
    name: 'task passed as a cgroup',
    ...task,
    text: `${ARG}\ncall kfunc bpf_cgroup_acquire\nr0 = 0\nexit`,
    want: at(
      1,
      'kernel function bpf_cgroup_acquire args#0 expected pointer to STRUCT cgroup but R1 has a pointer to STRUCT task_struct',
    ),
  },
  {
    name: 'acquired task released at an offset',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\nr1 = r0\nr1 += 8\ncall kfunc bpf_task_release\n${END}`,
    want: at(5, 'R1 must have zero offset when passed to release func or trusted arg to kfunc'),
  },
  {
    name: 'walked (untrusted) task acquired',
    ...task,
    text: `${ARG}\nr1 = *(u64 *)(r1 + off(task_struct.last_wakee))\ncall kfunc bpf_task_acquire\nr0 = 0\nexit`,
    want: at(2, 'R1 must be a rcu pointer'),
  },
  {
    name: 'walked (untrusted) task released',
    ...task,
    text: `${ARG}\nr1 = *(u64 *)(r1 + off(task_struct.last_wakee))\ncall kfunc bpf_task_release\nr0 = 0\nexit`,
    want: at(2, 'R1 must be referenced or trusted'),
  },
  {
    name: 'bpf_rdonly_cast task acquired',
    ...task,
    text: `${ARG}\nr2 = btfid(task_struct)\ncall kfunc bpf_rdonly_cast\nr1 = r0\ncall kfunc bpf_task_acquire\nr0 = 0\nexit`,
    want: at(4, 'R1 must be a rcu pointer'),
  },
  {
    name: 'task by pid read and released',
    ...task,
    text: `r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto out\nr6 = r0\nr0 = *(u32 *)(r0 + 8)\nr1 = r6\ncall kfunc bpf_task_release\n${END}`,
    want: OK,
  },
  {
    name: 'task by vpid released',
    ...task,
    text: fromPid.replace('bpf_task_from_pid', 'bpf_task_from_vpid'),
    want: OK,
  },
  {
    name: 'two references leaked',
    ...task,
    text: `${ARG}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_acquire\n${END}`,
    want: at(6, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  // Cgroups.
  {
    name: 'cgroup argument acquired and released',
    ...cgroupTp,
    text: `${ARG}\ncall kfunc bpf_cgroup_acquire\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_cgroup_release\n${END}`,
    want: OK,
  },
  {
    name: 'cgroup by id, its ancestor, both released',
    ...task,
    text: `r1 = 1\ncall kfunc bpf_cgroup_from_id\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = 1\ncall kfunc bpf_cgroup_ancestor\nif r0 == 0 goto rel\nr1 = r0\ncall kfunc bpf_cgroup_release\nrel:\nr1 = r7\ncall kfunc bpf_cgroup_release\n${END}`,
    want: OK,
  },
  {
    name: 'task under a cgroup by id',
    ...task,
    text: `r6 = *(u64 *)(r1 + 0)\nr1 = 1\ncall kfunc bpf_cgroup_from_id\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = r0\ncall kfunc bpf_task_under_cgroup\nr1 = r7\ncall kfunc bpf_cgroup_release\n${END}`,
    want: OK,
  },
  {
    name: 'cgroup id given a pointer',
    ...task,
    text: `${ARG}\ncall kfunc bpf_cgroup_from_id\nr0 = 0\nexit`,
    want: at(1, 'R1 is not a scalar'),
  },
  {
    name: "task's cgroup1 released",
    ...task,
    text: `${ARG}\nr2 = 1\ncall kfunc bpf_task_get_cgroup1\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_cgroup_release\n${END}`,
    want: OK,
  },
  // cpumasks: a bpf_cpumask passes as a cpumask (its first member).
  {
    name: 'cpumask created, set, read, released',
    ...task,
    text: `call kfunc bpf_cpumask_create\nif r0 == 0 goto out\nr6 = r0\nr2 = r0\nr1 = 1\ncall kfunc bpf_cpumask_set_cpu\nr1 = r6\ncall kfunc bpf_cpumask_first\nr1 = r6\ncall kfunc bpf_cpumask_release\n${END}`,
    want: OK,
  },
  {
    name: 'cpumask arguments swapped',
    ...task,
    text: `call kfunc bpf_cpumask_create\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\nr2 = 1\ncall kfunc bpf_cpumask_set_cpu\nr1 = r6\ncall kfunc bpf_cpumask_release\n${END}`,
    want: at(5, 'R1 is not a scalar'),
  },
  {
    name: 'cpumask acquired twice, released twice',
    ...task,
    text: `call kfunc bpf_cpumask_create\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall kfunc bpf_cpumask_acquire\nr1 = r0\ncall kfunc bpf_cpumask_release\nr1 = r6\ncall kfunc bpf_cpumask_release\n${END}`,
    want: OK,
  },
  {
    name: 'NULL cpumask',
    ...task,
    text: 'r1 = 0\ncall kfunc bpf_cpumask_empty\nr0 = 0\nexit',
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: "task's cpus_mask read as a cpumask",
    ...task,
    text: `${ARG}\nr1 += off(task_struct.cpus_mask)\ncall kfunc bpf_cpumask_empty\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: "task's cpus_ptr field address passed as a cpumask",
    ...task,
    text: `${ARG}\nr1 += off(task_struct.cpus_ptr)\ncall kfunc bpf_cpumask_empty\nr0 = 0\nexit`,
    want: at(
      2,
      'kernel function bpf_cpumask_empty args#0 expected pointer to STRUCT cpumask but R1 has a pointer to STRUCT task_struct',
    ),
  },
  {
    name: 'task passed as a cpumask',
    ...task,
    text: `${ARG}\ncall kfunc bpf_cpumask_empty\nr0 = 0\nexit`,
    want: at(
      1,
      'kernel function bpf_cpumask_empty args#0 expected pointer to STRUCT cpumask but R1 has a pointer to STRUCT task_struct',
    ),
  },
  // Program types: the generic set, the cpumask set, the common set.
  { name: 'tc: task by pid', type: ProgType.SCHED_CLS, text: fromPid, want: OK },
  { name: 'xdp: task by pid', type: ProgType.XDP, text: fromPid, want: OK },
  { name: 'tracepoint: task by pid', type: ProgType.TRACEPOINT, text: fromPid, want: OK },
  { name: 'perf_event: cpumask', type: ProgType.PERF_EVENT, text: cpumask, want: OK },
  { name: 'cgroup_skb: task by pid', type: ProgType.CGROUP_SKB, text: fromPid, want: OK },
  { name: 'sock_ops: task by pid', type: ProgType.SOCK_OPS, attach: 3, text: fromPid, want: OK },
  {
    name: 'socket_filter: task by pid',
    type: ProgType.SOCKET_FILTER,
    text: fromPid,
    want: at(1, 'calling kernel function bpf_task_from_pid is not allowed'),
  },
  {
    name: 'kprobe: task by pid',
    type: ProgType.KPROBE,
    text: fromPid,
    want: at(1, 'calling kernel function bpf_task_from_pid is not allowed'),
  },
  {
    name: 'sched_act: task by pid',
    type: ProgType.SCHED_ACT,
    text: fromPid,
    want: at(1, 'calling kernel function bpf_task_from_pid is not allowed'),
  },
  {
    name: 'raw_tracepoint: cpumask',
    type: ProgType.RAW_TRACEPOINT,
    text: cpumask,
    want: at(0, 'calling kernel function bpf_cpumask_create is not allowed'),
  },
  {
    name: 'tc: cpumask',
    type: ProgType.SCHED_CLS,
    text: cpumask,
    want: at(0, 'calling kernel function bpf_cpumask_create is not allowed'),
  },
  { name: 'socket_filter: RCU section', type: ProgType.SOCKET_FILTER, text: rcu, want: OK },
  // bpf_get_current_task_btf outside tp_btf (with bpf_get_current_task, wherever that is).
  { name: 'tracepoint: current task acquired and released', type: ProgType.TRACEPOINT, text: current, want: OK },
  { name: 'perf_event: current task acquired and released', type: ProgType.PERF_EVENT, text: current, want: OK },
  {
    name: 'kprobe: current task acquired',
    type: ProgType.KPROBE,
    text: current,
    want: at(2, 'calling kernel function bpf_task_acquire is not allowed'),
  },
  {
    name: 'socket_filter: current task read',
    type: ProgType.SOCKET_FILTER,
    text: 'call 158\nr0 = *(u32 *)(r0 + off(task_struct.pid))\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'raw_tracepoint: current task read past its end',
    type: ProgType.RAW_TRACEPOINT,
    text: 'call 158\nr0 = *(u32 *)(r0 + 30000)\nr0 = 0\nexit',
    want: at(1, 'access beyond struct task_struct at off 30000 size 4'),
  },
  { name: 'sk_skb: RCU section', type: ProgType.SK_SKB, text: rcu, want: OK },
  // RCU read sections and preemption.
  {
    name: 'RCU section not closed',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_rcu_read_lock\nr0 = 0\nexit',
    want: at(2, 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region'),
  },
  {
    name: 'RCU unlock unmatched',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_rcu_read_unlock\nr0 = 0\nexit',
    want: at(0, 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)'),
  },
  {
    name: 'RCU lock nested',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_lock\nr0 = 0\nexit',
    want: at(1, 'nested rcu read lock (kernel function bpf_rcu_read_lock)'),
  },
  {
    name: 'reference leaked in an RCU section (the leak is said first)',
    type: ProgType.SCHED_CLS,
    text: 'r1 = 1\ncall kfunc bpf_task_from_pid\ncall kfunc bpf_rcu_read_lock\nr0 = 0\nexit',
    want: at(4, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'packet load in an RCU section',
    type: ProgType.SCHED_CLS,
    text: 'r6 = r1\ncall kfunc bpf_rcu_read_lock\nr0 = *(u8 *)skb[0]\ncall kfunc bpf_rcu_read_unlock\nr0 = 0\nexit',
    want: at(2, 'BPF_LD_[ABS|IND] cannot be used inside bpf_rcu_read_lock-ed region'),
  },
  {
    name: 'preemption disabled twice, enabled once',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_preempt_disable\ncall kfunc bpf_preempt_disable\ncall kfunc bpf_preempt_enable\nr0 = 0\nexit',
    want: at(4, 'BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region'),
  },
  {
    name: 'preemption disabled and enabled on one branch only',
    type: ProgType.SCHED_CLS,
    text: 'r6 = *(u32 *)(r1 + 0)\ncall kfunc bpf_preempt_disable\nif r6 == 0 goto skip\ncall kfunc bpf_preempt_enable\nskip:\nr0 = 0\nexit',
    want: at(5, 'BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region'),
  },
  {
    name: 'preemption balanced',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_preempt_disable\ncall kfunc bpf_preempt_disable\ncall kfunc bpf_preempt_enable\ncall kfunc bpf_preempt_enable\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'preemption enabled unmatched',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_preempt_enable\nr0 = 0\nexit',
    want: at(0, 'unmatched attempt to enable preemption (kernel function bpf_preempt_enable)'),
  },
  {
    name: 'packet load with preemption disabled',
    type: ProgType.SCHED_CLS,
    text: 'r6 = r1\ncall kfunc bpf_preempt_disable\nr0 = *(u8 *)skb[0]\ncall kfunc bpf_preempt_enable\nr0 = 0\nexit',
    want: at(2, 'BPF_LD_[ABS|IND] cannot be used inside bpf_preempt_disable-ed region'),
  },
  // Casts.
  {
    name: 'tc: kernel context read past its end',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_cast_to_kern_ctx\nr0 = *(u32 *)(r0 + 30000)\nr0 = 0\nexit',
    want: at(1, 'access beyond struct sk_buff at off 30000 size 4'),
  },
  {
    name: 'tc: kernel context read',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_cast_to_kern_ctx\nr0 = *(u32 *)(r0 + off(sk_buff.len))\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'xdp: kernel context read past its end',
    type: ProgType.XDP,
    text: 'call kfunc bpf_cast_to_kern_ctx\nr0 = *(u32 *)(r0 + 30000)\nr0 = 0\nexit',
    want: at(1, 'access beyond struct xdp_buff at off 30000 size 4'),
  },
  {
    name: 'cgroup_sock_addr: kernel context read past its end',
    type: ProgType.CGROUP_SOCK_ADDR,
    attach: 10,
    text: 'call kfunc bpf_cast_to_kern_ctx\nr0 = *(u32 *)(r0 + 30000)\nr0 = 1\nexit',
    want: at(1, 'access beyond struct bpf_sock_addr_kern at off 30000 size 4'),
  },
  {
    name: 'moved context cast',
    type: ProgType.SCHED_CLS,
    text: 'r1 += 8\ncall kfunc bpf_cast_to_kern_ctx\nr0 = 0\nexit',
    want: at(1, 'dereference of modified ctx ptr R1 off=8 disallowed'),
  },
  {
    name: 'stack pointer cast as the context',
    type: ProgType.SCHED_CLS,
    text: 'r1 = r10\nr1 += -8\ncall kfunc bpf_cast_to_kern_ctx\nr0 = 0\nexit',
    want: at(2, 'arg#0 expected pointer to ctx, but got fp'),
  },
  {
    name: 'kernel context written',
    type: ProgType.SCHED_CLS,
    text: 'call kfunc bpf_cast_to_kern_ctx\nr1 = 5\n*(u32 *)(r0 + 8) = r1\nr0 = 0\nexit',
    // sched_cls's btf_struct_access (conntrack's, nfct.ts) writes an nf_conn's mark only.
    want: at(2, 'only read is supported'),
  },
  {
    name: 'bpf_rdonly_cast to task_struct, read',
    ...task,
    text: `${ARG}\nr2 = btfid(task_struct)\ncall kfunc bpf_rdonly_cast\nr0 = *(u32 *)(r0 + 8)\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'bpf_rdonly_cast to a non-struct',
    ...task,
    text: 'r2 = 3\ncall kfunc bpf_rdonly_cast\nr0 = 0\nexit',
    want: at(1, 'kfunc bpf_rdonly_cast type ID argument must be of a struct or void'),
  },
  {
    name: 'bpf_rdonly_cast by an unknown type id',
    ...task,
    text: 'r2 = r1\ncall kfunc bpf_rdonly_cast\nr0 = 0\nexit',
    want: at(1, 'R2 is not a scalar'),
  },
  // A memory, size pair (`sun_path, sun_path__sz`), in cgroup_sock_addr (BPF_CGROUP_INET4_CONNECT).
  { name: 'sun_path set from the stack', ...sockAddr, text: sunPath('r3 = 8'), want: OK },
  { name: 'sun_path of size 0', ...sockAddr, text: sunPath('r3 = 0'), want: OK },
  {
    name: 'sun_path past the stack slot',
    ...sockAddr,
    text: sunPath('r3 = 9'),
    want: at(7, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'sun_path of a negative size',
    ...sockAddr,
    text: sunPath('r3 = -1'),
    want: at(7, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'sun_path of a huge size',
    ...sockAddr,
    text: sunPath('r3 = 600000000'),
    want: at(7, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'sun_path given a number',
    ...sockAddr,
    text: sunPath('r3 = 8', 'r2 = 5'),
    want: at(7, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'sun_path given NULL',
    ...sockAddr,
    text: sunPath('r3 = 8', 'r2 = 0'),
    want: UNMODELLED,
  },
  {
    name: 'sun_path on a NULL context',
    ...sockAddr,
    text: sunPath('r3 = 8').replace('r1 = r0', 'r1 = 0'),
    want: at(7, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'sun_path on the context itself',
    ...sockAddr,
    text: sunPath('r3 = 8').replace('call kfunc bpf_cast_to_kern_ctx\nr1 = r0', 'r1 = r1\nr1 = r1'),
    want: at(7, 'arg#0 pointer type STRUCT bpf_sock_addr_kern must point to scalar, or struct with scalar'),
  },
  {
    name: 'cgroup_skb: sun_path',
    type: ProgType.CGROUP_SKB,
    text: 'r1 = 0\nr2 = 0\nr3 = 0\ncall kfunc bpf_sock_addr_set_sun_path\nr0 = 1\nexit',
    want: at(3, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'tc: sun_path',
    type: ProgType.SCHED_CLS,
    text: 'r1 = 0\nr2 = 0\nr3 = 0\ncall kfunc bpf_sock_addr_set_sun_path\nr0 = 1\nexit',
    want: at(3, 'calling kernel function bpf_sock_addr_set_sun_path is not allowed'),
  },
  // Not modelled: other kfuncs, iterators over kernel objects, dynptr kfuncs. (bpf_iter_num_* has its own
  // model and cases, iter-kfunc-cases.ts: a live iterator at exit is a leak.)
  {
    name: 'bpf_obj_drop_impl',
    type: ProgType.SCHED_CLS,
    text: 'r1 = 0\nr2 = 0\ncall kfunc bpf_obj_drop_impl\nr0 = 0\nexit',
    want: UNMODELLED,
  },
  {
    name: 'bpf_iter_num_new',
    type: ProgType.SCHED_CLS,
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 1\ncall kfunc bpf_iter_num_new\nr0 = 0\nexit',
    want: at(6, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'bpf_dynptr_memset (a kfunc bpfkit does not model)',
    type: ProgType.SCHED_CLS,
    text: 'r1 = r10\nr1 += -16\ncall kfunc bpf_dynptr_memset\nr0 = 0\nexit',
    want: UNMODELLED,
  },
];
