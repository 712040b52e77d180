/**
 * What the tp_btf grammar fuzz (btf-grammar-programs.ts) found, each case judged by the running kernel
 * (6.18), which btf-grammar.test.ts asks again as root: a BTF pointer moved by a variable (kept, refused
 * at any load in check_ptr_to_btf_access's words, returnable); the exit of a program still holding a
 * reference, an RCU section or disabled preemption, named before an unset r0; BTF pointers at a negative
 * offset given to kfuncs (check_func_arg_reg_off) and helpers (btf_struct_ids_match fails); tracepoint
 * arguments raw_tp_null_args marks NULL-able or error-or-pointer (then a scalar); atomics through BTF
 * pointers, untrusted memory and scalars, aligned strictly first; the seq_file helpers outside iterators;
 * a struct that embeds no `want` given where one is asked for (unions on the way or not).
 */
import type { Want } from './expect.js';
import type { KfuncCase } from './kfunc-cases.js';

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});
const task = { type: 26, tp: 'task_newtask' } as const;
/** R1 = task_newtask's task moved by a random 0..15 (insn 4 is the first after the move). */
const varTask = 'r6 = *(u64 *)(r1 + 0)\ncall 7\nr0 &= 15\nr1 = r6\nr1 += r0';

/** The cases. */
export const BTF_GRAMMAR_CASES: readonly KfuncCase[] = [
  {
    name: 'task moved by a variable, read',
    ...task,
    text: `${varTask}\nr0 = *(u64 *)(r1 + 8)\nexit`,
    want: at(5, 'R1 is ptr_task_struct invalid variable offset: off=8, var_off=(0x0; 0xf)'),
  },
  {
    name: 'task moved by a variable, then below 0, read',
    ...task,
    text: `${varTask}\nr1 += -32\nr0 = *(u64 *)(r1 + 8)\nexit`,
    want: at(6, 'R1 is ptr_task_struct invalid negative access: off=-24'),
  },
  {
    name: 'task moved by a variable, spilled, filled and returned',
    ...task,
    text: `${varTask}\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nexit`,
    want: OK,
  },
  {
    name: 'task moved by a variable, compared with the task',
    ...task,
    text: `${varTask}\nr0 = 0\nif r1 == r6 goto +1\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'task moved by a variable, given to bpf_task_acquire',
    ...task,
    text: `${varTask}\ncall kfunc bpf_task_acquire\nr0 = 0\nexit`,
    want: { unmodelled: true },
  },
  {
    name: 'exit with a reference held and r0 unset',
    ...task,
    text: 'r1 = *(u64 *)(r1 + 0)\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\ncall kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_unlock\nexit\nout:\nr0 = 0\nexit',
    want: at(5, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'exit inside an RCU section with r0 unset',
    ...task,
    text: 'call kfunc bpf_rcu_read_lock\nexit',
    want: at(1, 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region'),
  },
  {
    name: 'exit with preemption disabled and r0 unset',
    ...task,
    text: 'call kfunc bpf_preempt_disable\nexit',
    want: at(1, 'BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region'),
  },
  {
    name: 'task 8 bytes below its start given to bpf_task_acquire',
    ...task,
    text: 'r1 = *(u64 *)(r1 + 0)\nr1 += -8\ncall kfunc bpf_task_acquire\nr0 = 0\nexit',
    want: at(2, 'negative offset trusted_ptr_ ptr R1 off=-8 disallowed'),
  },
  {
    name: 'task 8 bytes below its start given to bpf_task_pt_regs',
    ...task,
    text: 'r1 = *(u64 *)(r1 + 0)\nr1 += -8\ncall 175\nr0 = 0\nexit',
    want: at(2, 'R1 is of type task_struct but task_struct is expected'),
  },
  {
    name: 'skb 1 byte below its start given to bpf_strncmp',
    type: 26,
    tp: 'netif_receive_skb',
    text: 'r1 = *(u64 *)(r1 + 0)\nr1 += -1\nr2 = 4\nr3 = r10\nr3 += -8\ncall 182\nr0 = 0\nexit',
    want: at(5, 'negative offset trusted_ptr_ ptr R1 off=-1 disallowed'),
  },
  {
    name: "sched_process_wait's pid read unchecked (NULL-able)",
    type: 26,
    tp: 'sched_process_wait',
    text: 'r1 = *(u64 *)(r1 + 0)\nr0 = *(u8 *)(r1 + 0)\nr0 = 0\nexit',
    want: at(1, "R1 invalid mem access 'trusted_ptr_or_null_'"),
  },
  {
    name: "sched_process_wait's pid read after a NULL check",
    type: 26,
    tp: 'sched_process_wait',
    text: 'r1 = *(u64 *)(r1 + 0)\nif r1 == 0 goto +1\nr0 = *(u8 *)(r1 + 0)\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: "mm_page_alloc's page read unchecked (NULL-able)",
    type: 26,
    tp: 'mm_page_alloc',
    text: 'r1 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r1 + 0)\nexit',
    want: at(1, "R1 invalid mem access 'trusted_ptr_or_null_'"),
  },
  {
    name: "signal_deliver's info (maybe an error code) read",
    type: 26,
    tp: 'signal_deliver',
    text: 'r1 = *(u64 *)(r1 + 8)\nr0 = *(u8 *)(r1 + 0)\nr0 = 0\nexit',
    want: at(1, "R1 invalid mem access 'scalar'"),
  },
  {
    name: "signal_generate's info read as 4 bytes (checked as a pointer first)",
    type: 26,
    tp: 'signal_generate',
    text: 'r1 = *(u32 *)(r1 + 8)\nr0 = 0\nexit',
    want: at(0, 'invalid bpf_context access off=8 size=4'),
  },
  {
    name: "signal_deliver's ka read (a plain trusted pointer)",
    type: 26,
    tp: 'signal_deliver',
    text: 'r1 = *(u64 *)(r1 + 16)\nr0 = *(u64 *)(r1 + 8)\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'atomic add through a scalar (its unknown bits are misaligned)',
    ...task,
    text: 'r6 = *(u64 *)(r1 + 8)\nr2 = 1\nlock *(u64 *)(r6 + 8) += r2\nr0 = 0\nexit',
    want: at(2, 'misaligned access off (0x0; 0xffffffffffffffff)+0+8 size 8'),
  },
  {
    name: 'atomic add at a misaligned offset of a task',
    ...task,
    text: 'r6 = *(u64 *)(r1 + 0)\nr2 = 1\nlock *(u32 *)(r6 + 2) += r2\nr0 = 0\nexit',
    want: at(2, 'misaligned access off 0+0+2 size 4'),
  },
  {
    name: 'atomic add at a misaligned offset of a NULL-able page',
    type: 26,
    tp: 'mm_page_alloc',
    text: 'r6 = *(u64 *)(r1 + 0)\nr2 = 1\nlock *(u64 *)(r6 + 4) += r2\nr0 = 0\nexit',
    want: at(2, 'misaligned access off 0+0+4 size 8'),
  },
  {
    name: 'atomic add at a misaligned offset of untrusted memory',
    type: 26,
    tp: 'kfree_skb',
    text: 'r1 = *(u64 *)(r1 + 0)\nr6 = *(u64 *)(r1 + off(sk_buff.data))\nr2 = 1\nlock *(u32 *)(r6 + 2) += r2\nr0 = 0\nexit',
    want: at(3, 'misaligned access off 0+0+2 size 4'),
  },
  {
    name: 'bpf_seq_write called from tp_btf (iterators only)',
    ...task,
    text: 'r1 = 0\nr2 = 0\nr3 = 0\ncall 127\nr0 = 0\nexit',
    want: at(3, 'program of this type cannot use helper bpf_seq_write#127'),
  },
  {
    name: 'bpf_seq_printf called from tp_btf (iterators only)',
    ...task,
    text: 'r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall 126\nr0 = 0\nexit',
    want: at(5, 'program of this type cannot use helper bpf_seq_printf#126'),
  },
  {
    name: 'an skb given to bpf_skc_to_tcp_sock (sk_buff embeds no sock_common)',
    type: 26,
    tp: 'netif_receive_skb',
    text: 'r1 = *(u64 *)(r1 + 0)\nr1 += 8\ncall 137\nr0 = 0\nexit',
    want: at(2, 'R1 is of type sk_buff but sock_common is expected'),
  },
];
