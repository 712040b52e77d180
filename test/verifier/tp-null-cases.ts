/**
 * tp_btf pointer arguments as Linux 6.18 types them (src/verifier/tp-null.ts, the table tools/tp-btf-probe.js
 * read from the kernel): trusted and never NULL for a tracepoint raw_tp_null_args does not name, maybe NULL
 * or a scalar (an error code) for the ones it does. Each program has the verdict the running kernel (6.18)
 * gives; programs are written as in kfunc-cases.ts (`off(struct.member)`).
 */
import type { Want } from './expect.js';
import { TRACING, type KfuncCase } from './kfunc-cases.js';

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.{}]/g, '\\$&')}$`) });
const END = 'out:\nr0 = 0\nexit';
/** Load argument `arg`, read `field` (a u32) through it unchecked. */
const unchecked = (arg: number, field: string) =>
  `r1 = *(u64 *)(r1 + ${8 * arg})\nr2 = *(u32 *)(r1 + off(${field}))\n${END}`;
/** The same read after a NULL check. */
const checked = (arg: number, field: string) =>
  `r1 = *(u64 *)(r1 + ${8 * arg})\nif r1 == 0 goto out\nr2 = *(u32 *)(r1 + off(${field}))\n${END}`;
/** Load argument `arg`, read the u32 at its start (si_signo of a kernel_siginfo), after a NULL check if `check`. */
const atStart = (arg: number, check = false) =>
  `r1 = *(u64 *)(r1 + ${8 * arg})\n${check ? 'if r1 == 0 goto out\n' : ''}r2 = *(u32 *)(r1 + 0)\n${END}`;
const NULLABLE = "R1 invalid mem access 'trusted_ptr_or_null_'";

/** The cases. */
export const TP_NULL_CASES: KfuncCase[] = [
  // Not in the table: trusted, never NULL (libbpf-tools' biolatency, biosnoop and hardirqs read these).
  {
    name: 'block_rq_insert rq read unchecked',
    type: TRACING,
    tp: 'block_rq_insert',
    text: unchecked(0, 'request.cmd_flags'),
    want: OK,
  },
  {
    name: 'irq_handler_entry action read unchecked',
    type: TRACING,
    tp: 'irq_handler_entry',
    text: unchecked(1, 'irqaction.irq'),
    want: OK,
  },
  {
    name: 'irq_handler_exit action read unchecked',
    type: TRACING,
    tp: 'irq_handler_exit',
    text: unchecked(1, 'irqaction.irq'),
    want: OK,
  },
  {
    name: 'sched_pi_setprio task (arg0) read unchecked',
    type: TRACING,
    tp: 'sched_pi_setprio',
    text: unchecked(0, 'task_struct.pid'),
    want: OK,
  },
  // In the table, maybe NULL: refused unchecked, accepted once checked.
  {
    name: 'sched_pi_setprio pi_task read unchecked',
    type: TRACING,
    tp: 'sched_pi_setprio',
    text: unchecked(1, 'task_struct.pid'),
    want: at(1, NULLABLE),
  },
  {
    name: 'sched_pi_setprio pi_task read after a NULL check',
    type: TRACING,
    tp: 'sched_pi_setprio',
    text: checked(1, 'task_struct.pid'),
    want: OK,
  },
  {
    name: 'tcp_send_reset skb read unchecked',
    type: TRACING,
    tp: 'tcp_send_reset',
    text: unchecked(1, 'sk_buff.len'),
    want: at(1, NULLABLE),
  },
  {
    name: 'tcp_send_reset sk read after a NULL check',
    type: TRACING,
    tp: 'tcp_send_reset',
    text: checked(0, 'sock.sk_rcvbuf'),
    want: OK,
  },
  {
    name: 'xfs_inodegc_flush mp read unchecked',
    type: TRACING,
    tp: 'xfs_inodegc_flush',
    text: unchecked(0, 'xfs_mount.m_bsize'),
    want: at(1, NULLABLE),
  },
  {
    name: 'mm_page_alloc_zone_locked page read unchecked',
    type: TRACING,
    tp: 'mm_page_alloc_zone_locked',
    text: unchecked(0, 'page.flags'),
    want: at(1, NULLABLE),
  },
  // In the table, maybe an error code: a scalar once loaded.
  {
    name: 'signal_generate info read',
    type: TRACING,
    tp: 'signal_generate',
    text: atStart(1),
    want: at(1, "R1 invalid mem access 'scalar'"),
  },
  {
    name: 'signal_generate info read after a NULL check',
    type: TRACING,
    tp: 'signal_generate',
    text: atStart(1, true),
    want: at(2, "R1 invalid mem access 'scalar'"),
  },
  {
    name: 'signal_generate task (arg2) read unchecked',
    type: TRACING,
    tp: 'signal_generate',
    text: unchecked(2, 'task_struct.pid'),
    want: OK,
  },
];
