/**
 * The value a program may return (the kernel's check_return_code, privileged): most program types
 * return anything, cgroup_skb returns a verdict in [0, 1], or [0, 3] when attached to egress (the
 * congestion-notification bit); the other cgroup hooks and sk_lookup return 0 or 1, but the
 * cgroup_sock_addr hooks that only rewrite an address (recvmsg, getpeername, getsockname) must return 1
 * and the bind hooks may return up to 3; netfilter programs NF_DROP (0) or NF_ACCEPT (1). A pointer is never a verdict.
 */
import { ProgType } from '../uapi/types.js';
import { Attach, CGROUP_SOCKOPT, CGROUP_SYSCTL, SK_LOOKUP } from './ctx-sock.js';
import type { Env } from './env.js';
import { PROG_TRACING } from './btf-ptr.js';
import { TRACE_ITER } from './iter.js';
import { NETFILTER } from './netfilter.js';
import { Rejection } from './reject.js';
import type { Scalar } from './scalar.js';
import { type Reg, kindText } from './state.js';

/** BPF_CGROUP_INET_EGRESS (enum bpf_attach_type). */
const CGROUP_INET_EGRESS = 1;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

/** The range a program of `type` (with `attachType`) must return in, or undefined when any value goes. */
export function returnRange(type: number, attachType: number | undefined): [bigint, bigint] | undefined {
  switch (type) {
    case ProgType.CGROUP_SKB:
      return attachType === CGROUP_INET_EGRESS ? [0n, 3n] : [0n, 1n];
    case ProgType.CGROUP_SOCK_ADDR:
      if (attachType !== undefined && ADDRESS_ONLY.includes(attachType)) return [1n, 1n];
      if (attachType === Attach.INET4_BIND || attachType === Attach.INET6_BIND) return [0n, 3n];
      return [0n, 1n];
    case ProgType.CGROUP_SOCK:
    case ProgType.SOCK_OPS:
    case ProgType.CGROUP_DEVICE:
    case CGROUP_SYSCTL:
    case CGROUP_SOCKOPT:
    case SK_LOOKUP:
    case NETFILTER:
      return [0n, 1n];
    case ProgType.KPROBE:
      // kprobe and uprobe session programs (BPF_TRACE_KPROBE_SESSION, _UPROBE_SESSION) return 0 or 1 (run
      // the return probe or not); other kprobes anything.
      return attachType === 56 || attachType === 57 ? [0n, 1n] : undefined;
    case PROG_TRACING:
      // iterators return 0 or 1 (check_return_code's default range); tp_btf programs anything.
      return attachType === TRACE_ITER ? [0n, 1n] : undefined;
    default:
      return undefined;
  }
}

/** cgroup_sock_addr hooks that may only rewrite the address they report: they must return 1. */
const ADDRESS_ONLY: readonly number[] = [
  Attach.UDP4_RECVMSG,
  Attach.UDP6_RECVMSG,
  Attach.UNIX_RECVMSG,
  Attach.INET4_GETPEERNAME,
  Attach.INET6_GETPEERNAME,
  Attach.UNIX_GETPEERNAME,
  Attach.INET4_GETSOCKNAME,
  Attach.INET6_GETSOCKNAME,
  Attach.UNIX_GETSOCKNAME,
];

/**
 * The kernel's verbose_invalid_scalar: what is known of the value (in `reg`: r0, or a thrown cookie's r1)
 * and the range it should have been in.
 */
export function invalidScalarText(where: string, s: Scalar, range: readonly [bigint, bigint], reg = 'R0'): string {
  let text = `${where} the register ${reg} has`;
  if (s.smin > S64_MIN) text += ` smin=${s.smin}`;
  if (s.smax < S64_MAX) text += ` smax=${s.smax}`;
  if (s.smin === S64_MIN && s.smax === S64_MAX) text += ' unknown scalar value';
  return `${text} should have been in [${range[0]}, ${range[1]}]`;
}

/**
 * Refuse an exit from the outermost frame whose r0 is not a value its type may return; a global function
 * verified on its own returns any scalar.
 */
export function checkReturnCode(pc: number, r0: Reg, env: Env): void {
  // The exception callback's value is the program's (in_exception_callback_fn): checked as the entry's.
  if (env.entry !== 0 && env.entry !== env.exceptionCallback) {
    if (r0.kind !== 'scalar')
      throw new Rejection(pc, `At subprogram exit the register R0 is not a scalar value (${kindText(r0)})`);
    return;
  }
  const range = returnRange(env.progType, env.attachType);
  if (!range) return;
  if (r0.kind !== 'scalar')
    throw new Rejection(pc, `At program exit the register R0 is not a known value (${kindText(r0)})`);
  env.precision?.mark(0);
  if (r0.s.smin < range[0] || r0.s.smax > range[1])
    throw new Rejection(pc, invalidScalarText('At program exit', r0.s, range));
}
