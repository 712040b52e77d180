/**
 * Helpers given or giving kernel objects by BTF id (src/verifier/btf-args.ts), each program with the
 * verdict the running kernel (6.18) gives: the socket casts bpf_skc_to_* (their NULL-able result, the
 * reference a cast carries to bpf_sk_release, the struct they take), a trusted task's memory read by a
 * helper (and written: refused), a plain BTF pointer where memory is asked for, and the program types the
 * casts are for. Programs are written as in kfunc-cases.ts (`off(struct.member)`, `btfid(struct)`).
 */
import { ProgType } from '../../src/uapi/types.js';
import type { Want } from './expect.js';
import { TRACING, type KfuncCase } from './kfunc-cases.js';

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.{}]/g, '\\$&')}$`) });

const tc = { type: ProgType.SCHED_CLS } as const;
const task = { type: TRACING, tp: 'task_newtask' } as const;
const tcpProbe = { type: TRACING, tp: 'tcp_probe' } as const;
/** __sk_buff->sk (maybe NULL): r1 = the socket, then null-checked (insns 0, 1). */
const SKB_SK = 'r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out';
/** A TCP lookup of a zeroed tuple (insns 0-8), the socket (referenced, maybe NULL) in r6, checked at 10. */
const LOOKUP = `r2 = 0
*(u64 *)(r10 - 8) = r2
*(u64 *)(r10 - 16) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
r6 = r0
if r6 == 0 goto out`;
const END = 'out:\nr0 = 0\nexit';

/** The cases. */
export const BTFARGS_CASES: KfuncCase[] = [
  {
    name: 'skc_to_tcp_sock of skb->sk, null-checked, a field read',
    ...tc,
    text: `${SKB_SK}\ncall 137\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + off(tcp_sock.snd_cwnd))\n${END}`,
    want: OK,
  },
  {
    name: 'skc_to_tcp_sock result read before its null check',
    ...tc,
    text: `${SKB_SK}\ncall 137\nr2 = *(u32 *)(r0 + off(tcp_sock.snd_cwnd))\n${END}`,
    want: at(3, "R0 invalid mem access 'ptr_or_null_'"),
  },
  {
    name: 'skc_to_tcp6_sock, skc_to_udp6_sock, skc_to_unix_sock of skb->sk',
    ...tc,
    text: `${SKB_SK}\nr6 = r1\ncall 136\nr1 = r6\ncall 140\nr1 = r6\ncall 178\nif r0 == 0 goto out\nr2 = *(u8 *)(r0 + 0)\n${END}`,
    want: OK,
  },
  {
    name: 'skc_to_tcp_sock of NULL',
    ...tc,
    text: `r1 = 0\ncall 137\n${END}`,
    want: at(1, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'skc_to_tcp_sock of a maybe-NULL socket',
    ...tc,
    text: `r1 = *(u64 *)(r1 + 168)\ncall 137\n${END}`,
    want: at(1, 'R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'a looked-up socket cast to tcp_sock and released as that',
    ...tc,
    text: `${LOOKUP}\nr1 = r6\ncall 137\nif r0 == 0 goto rel\nr1 = r0\ncall 86\nr0 = 0\nexit\nrel:\nr1 = r6\ncall 86\n${END}`,
    want: OK,
  },
  {
    name: 'the tcp_sock cast read after its socket is released',
    ...tc,
    text: `${LOOKUP}\nr1 = r6\ncall 137\nr7 = r0\nr1 = r6\ncall 86\nif r7 == 0 goto out\nr2 = *(u32 *)(r7 + off(tcp_sock.snd_cwnd))\n${END}`,
    want: at(17, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'a cast of a looked-up socket leaks its reference when neither is released',
    ...tc,
    text: `${LOOKUP}\nr1 = r6\ncall 137\n${END}`,
    want: at(14, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'sk_release of a tcp_sock cast of skb->sk (no reference)',
    ...tc,
    text: `${SKB_SK}\ncall 137\nif r0 == 0 goto out\nr1 = r0\ncall 86\n${END}`,
    want: at(5, 'R1 must be referenced when passed to release function'),
  },
  {
    name: 'a tcp_sock cast where memory is asked for (a plain BTF pointer)',
    ...tc,
    text: `${SKB_SK}\ncall 137\nif r0 == 0 goto out\nr1 = r0\nr2 = 8\ncall 6\n${END}`,
    want: at(6, 'R1 type=ptr_ expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  {
    name: 'skc_to_tcp_sock in a kprobe program',
    type: ProgType.KPROBE,
    text: `r1 = 0\ncall 137\n${END}`,
    want: at(1, 'program of this type cannot use helper bpf_skc_to_tcp_sock#137'),
  },
  {
    name: "a trusted task's comm read by trace_printk",
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr1 += off(task_struct.comm)\nr2 = 16\ncall 6\n${END}`,
    want: OK,
  },
  {
    name: "a trusted task's comm read one byte past its end",
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr1 += off(task_struct.comm)\nr2 = 17\ncall 6\n${END}`,
    want: {
      pc: 3,
      re: /^access beyond the end of member comm \(mend:\d+\) in struct task_struct with off \d+ size 17$/,
    },
  },
  {
    name: 'a trusted task written by probe_read_kernel',
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr2 = 8\nr3 = 0\ncall 113\n${END}`,
    want: at(3, 'bpf_probe_read_kernel() may write into memory pointed by R1 type=trusted_ptr_'),
  },
  {
    name: 'skc_to_tcp_sock of a trusted tp_btf socket, its field read',
    ...tcpProbe,
    text: `r1 = *(u64 *)(r1 + 0)\ncall 137\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + off(tcp_sock.snd_cwnd))\n${END}`,
    want: OK,
  },
  {
    name: "a trusted task's stack into a stack buffer (get_task_stack)",
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 141\nif r0 s> 64 goto bad\n${END}\nbad:\nr0 = *(u64 *)(r0 + 0)\nexit`,
    want: OK,
  },
  {
    name: 'get_task_stack of NULL',
    ...task,
    text: `r1 = 0\nr2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 141\n${END}`,
    want: at(5, 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'get_task_stack of a task walked to (untrusted)',
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr1 = *(u64 *)(r1 + off(task_struct.signal))\nr1 = *(u64 *)(r1 + off(signal_struct.curr_target))\nr2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 141\n${END}`,
    want: at(7, 'R1 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'get_task_stack of a tcp_sock in tc',
    ...tc,
    text: `${SKB_SK}\ncall 137\nif r0 == 0 goto out\nr1 = r0\nr2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 141\n${END}`,
    want: at(9, 'R1 is of type tcp_sock but task_struct is expected'),
  },
  {
    name: "a trusted task's walk is untrusted in Linux 6.18 (task->signal to skc_to_tcp_sock)",
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\nr1 = *(u64 *)(r1 + off(task_struct.signal))\ncall 137\n${END}`,
    want: at(2, 'R1 type=untrusted_ptr_ expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: "a plain pointer's walk is untrusted (tcp_sock->sk_socket to skc_to_tcp_sock)",
    ...tc,
    text: `${SKB_SK}\ncall 137\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + off(sock.sk_socket))\ncall 137\n${END}`,
    want: at(5, 'R1 type=untrusted_ptr_ expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: "a tp_btf socket's cookie, and NULL's",
    ...tcpProbe,
    text: `r6 = *(u64 *)(r1 + 0)\nr1 = r6\ncall 46\nr1 = 0\ncall 46\n${END}`,
    want: OK,
  },
  {
    name: 'task_pt_regs of the current task: a plain pt_regs pointer, read',
    type: ProgType.KPROBE,
    text: `call 158\nr1 = r0\ncall 175\nr1 = *(u64 *)(r0 + 8)\n${END}`,
    want: OK,
  },
  {
    name: 'task_pt_regs result where memory is asked for (plain, not trusted)',
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\ncall 175\nr1 = r0\nr2 = 8\ncall 6\n${END}`,
    want: at(4, 'R1 type=ptr_ expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  {
    name: 'per_cpu_ptr of NULL (no percpu ksym)',
    ...tc,
    text: `r1 = 0\nr2 = 0\ncall 153\n${END}`,
    want: at(2, 'R1 type=scalar expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_'),
  },
  {
    name: 'this_cpu_ptr of a stack pointer',
    ...tc,
    text: `r1 = r10\nr1 += -8\ncall 154\n${END}`,
    want: at(2, 'R1 type=fp expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_'),
  },
  {
    name: 'skc_to_tcp_sock of a task',
    ...task,
    text: `r1 = *(u64 *)(r1 + 0)\ncall 137\n${END}`,
    want: at(1, 'R1 is of type task_struct but sock_common is expected'),
  },
];
