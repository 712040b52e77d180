/**
 * Program type (and expected attach type) from an ELF section name, following libbpf's section naming
 * conventions (`SEC("xdp")`, `SEC("tc/ingress")`, `SEC("kprobe/do_sys_open")`, ...). A rule either matches
 * the name exactly or, when it ends in '/', any name starting with it; the first matching rule wins, so
 * specific names come before their prefixes.
 *
 * Names nobody knows (iproute2 objects use free-form names like "cls" or "lb"; tc picks a section by
 * name and loads it as a classifier or action) yield no match: the caller decides (parseObject's
 * `defaultProgramType`).
 */
import { AttachType, ProgType } from '../uapi/types.js';

/** enum bpf_prog_type values beyond the ones src/uapi lists (include/uapi/linux/bpf.h). */
export const MoreProgTypes = {
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;

/** enum bpf_attach_type values (include/uapi/linux/bpf.h) the section names imply. */
export const MoreAttachTypes = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: AttachType.XDP,
  SK_SKB_VERDICT: 38,
  TRACE_KPROBE_MULTI: 42,
  NETFILTER: 45,
  TCX_INGRESS: AttachType.TCX_INGRESS,
  TCX_EGRESS: AttachType.TCX_EGRESS,
} as const;

/** The program type (and expected attach type) a section name stands for, as libbpf maps them. */
export interface SectionType {
  type: number;
  attachType?: number;
}

type Rule = [pattern: string, type: number, attachType?: number];

const P = { ...ProgType, ...MoreProgTypes };
const A = MoreAttachTypes;

const RULES: Rule[] = [
  ['socket', P.SOCKET_FILTER],
  ['socket/', P.SOCKET_FILTER],
  ['sk_reuseport/migrate', P.SK_REUSEPORT, 40],
  ['sk_reuseport', P.SK_REUSEPORT, 39],
  ['kprobe/', P.KPROBE],
  ['kretprobe/', P.KPROBE],
  ['uprobe/', P.KPROBE],
  ['uretprobe/', P.KPROBE],
  ['ksyscall/', P.KPROBE],
  ['kretsyscall/', P.KPROBE],
  ['usdt/', P.KPROBE],
  ['kprobe.multi/', P.KPROBE, A.TRACE_KPROBE_MULTI],
  ['kretprobe.multi/', P.KPROBE, A.TRACE_KPROBE_MULTI],
  ['tc/ingress', P.SCHED_CLS, A.TCX_INGRESS],
  ['tc/egress', P.SCHED_CLS, A.TCX_EGRESS],
  ['tcx/ingress', P.SCHED_CLS, A.TCX_INGRESS],
  ['tcx/egress', P.SCHED_CLS, A.TCX_EGRESS],
  ['tc', P.SCHED_CLS],
  ['tc/', P.SCHED_CLS],
  ['classifier', P.SCHED_CLS],
  ['classifier/', P.SCHED_CLS],
  ['action', P.SCHED_ACT],
  ['action/', P.SCHED_ACT],
  ['tracepoint/', P.TRACEPOINT],
  ['tp/', P.TRACEPOINT],
  ['raw_tracepoint/', P.RAW_TRACEPOINT],
  ['raw_tp/', P.RAW_TRACEPOINT],
  ['raw_tracepoint.w/', P.RAW_TRACEPOINT_WRITABLE],
  ['raw_tp.w/', P.RAW_TRACEPOINT_WRITABLE],
  ['tp_btf/', P.TRACING, A.TRACE_RAW_TP],
  ['fentry/', P.TRACING, A.TRACE_FENTRY],
  ['fexit/', P.TRACING, A.TRACE_FEXIT],
  ['fmod_ret/', P.TRACING, A.MODIFY_RETURN],
  ['iter/', P.TRACING, A.TRACE_ITER],
  ['fentry.s/', P.TRACING, A.TRACE_FENTRY],
  ['fexit.s/', P.TRACING, A.TRACE_FEXIT],
  ['fmod_ret.s/', P.TRACING, A.MODIFY_RETURN],
  ['freplace/', P.EXT],
  ['lsm/', P.LSM, A.LSM_MAC],
  ['lsm.s/', P.LSM, A.LSM_MAC],
  ['struct_ops', P.STRUCT_OPS],
  ['struct_ops/', P.STRUCT_OPS],
  ['syscall', P.SYSCALL],
  ['xdp.frags/devmap', P.XDP, A.XDP_DEVMAP],
  ['xdp/devmap', P.XDP, A.XDP_DEVMAP],
  ['xdp.frags/cpumap', P.XDP, A.XDP_CPUMAP],
  ['xdp/cpumap', P.XDP, A.XDP_CPUMAP],
  ['xdp.frags', P.XDP, A.XDP],
  ['xdp', P.XDP, A.XDP],
  ['xdp/', P.XDP, A.XDP],
  ['perf_event', P.PERF_EVENT],
  ['lwt_in', P.LWT_IN],
  ['lwt_out', P.LWT_OUT],
  ['lwt_xmit', P.LWT_XMIT],
  ['lwt_seg6local', P.LWT_SEG6LOCAL],
  ['sockops', P.SOCK_OPS, A.CGROUP_SOCK_OPS],
  ['sk_skb/stream_parser', P.SK_SKB, A.SK_SKB_STREAM_PARSER],
  ['sk_skb/stream_verdict', P.SK_SKB, A.SK_SKB_STREAM_VERDICT],
  ['sk_skb/verdict', P.SK_SKB, A.SK_SKB_VERDICT],
  ['sk_skb', P.SK_SKB],
  ['sk_skb/', P.SK_SKB],
  ['sk_msg', P.SK_MSG, A.SK_MSG_VERDICT],
  ['lirc_mode2', P.LIRC_MODE2, A.LIRC_MODE2],
  ['flow_dissector', P.FLOW_DISSECTOR, A.FLOW_DISSECTOR],
  ['cgroup_skb/ingress', P.CGROUP_SKB, A.CGROUP_INET_INGRESS],
  ['cgroup_skb/egress', P.CGROUP_SKB, A.CGROUP_INET_EGRESS],
  ['cgroup/skb', P.CGROUP_SKB],
  ['cgroup/sock_create', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE],
  ['cgroup/sock_release', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE],
  ['cgroup/sock', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE],
  ['cgroup/post_bind4', P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND],
  ['cgroup/post_bind6', P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND],
  ['cgroup/dev', P.CGROUP_DEVICE, A.CGROUP_DEVICE],
  ['cgroup/bind4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND],
  ['cgroup/bind6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND],
  ['cgroup/connect4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT],
  ['cgroup/connect6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT],
  ['cgroup/sendmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG],
  ['cgroup/sendmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG],
  ['cgroup/recvmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG],
  ['cgroup/recvmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG],
  ['cgroup/getpeername4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME],
  ['cgroup/getpeername6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME],
  ['cgroup/getsockname4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME],
  ['cgroup/getsockname6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME],
  ['cgroup/sysctl', P.CGROUP_SYSCTL, A.CGROUP_SYSCTL],
  ['cgroup/getsockopt', P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT],
  ['cgroup/setsockopt', P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT],
  ['sk_lookup', P.SK_LOOKUP, A.SK_LOOKUP],
  ['netfilter', P.NETFILTER, A.NETFILTER],
];

/** The program type a section name implies, or undefined when the name follows no known convention. */
export function sectionType(section: string): SectionType | undefined {
  for (const [pattern, type, attachType] of RULES) {
    const hit = pattern.endsWith('/') ? section.startsWith(pattern) : section === pattern;
    if (hit) return attachType === undefined ? { type } : { type, attachType };
  }
  return undefined;
}

/** Human name of a program type (lower case, as bpftool prints it). */
export function progTypeName(type: number): string {
  for (const [k, v] of Object.entries(P)) if (v === type) return k.toLowerCase();
  return `unknown(${type})`;
}

/** Human name of an attach type (lower case, as in the kernel's enum without BPF_). */
export function attachTypeName(type: number): string {
  for (const [k, v] of Object.entries(MoreAttachTypes)) if (v === type) return k.toLowerCase();
  return `unknown(${type})`;
}
