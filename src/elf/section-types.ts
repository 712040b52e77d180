/**
 * Program type (and expected attach type) from an ELF section name, following libbpf's section naming
 * conventions (`SEC("xdp")`, `SEC("tc/ingress")`, `SEC("kprobe/do_sys_open")`, ...). The rules follow
 * libbpf's table (its order and its '+' and '/' patterns); the first matching rule wins.
 *
 * Names nobody knows (iproute2 objects use free-form names like "cls" or "lb"; tc picks a section by
 * name and loads it as a classifier or action) yield no match: the caller decides (parseObject's
 * `defaultProgramType`).
 */
import { AttachType, ProgType } from '../uapi/types.js';
import type { AttachBtfSpec } from './spec.js';

/** Why a struct_ops program no `.struct_ops` variable points at is not loaded (src/elf/struct-ops.ts lifts it). */
export const UNBOUND_STRUCT_OPS =
  'struct_ops programs load with the .struct_ops map that points at them, and no map of this object does';

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
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: AttachType.TCX_INGRESS,
  TCX_EGRESS: AttachType.TCX_EGRESS,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
} as const;

/** BPF_F_SLEEPABLE and BPF_F_XDP_HAS_FRAGS: program flags some section names imply. */
export const ProgFlag = { SLEEPABLE: 1 << 4, XDP_HAS_FRAGS: 1 << 5 } as const;

/** The program type (and expected attach type) a section name stands for, as libbpf maps them. */
export interface SectionType {
  type: number;
  attachType?: number;
  /** BPF_F_* program flags the name implies (`.s` sleepable variants, `xdp.frags`). */
  flags?: number;
  /** Tracing, LSM and iterator programs name a kernel BTF type to attach to. */
  attachBtf?: AttachBtfSpec;
  /** Names libbpf loads only with something bpfkit does not provide (freplace's target program, struct_ops maps). */
  unsupported?: string;
}

/** How a rule finds its attach target in kernel BTF: the prefix the type name takes and the BTF kind. */
type BtfRule = 'tp_btf' | 'func' | 'lsm' | 'iter';

type Rule = [pattern: string, type: number, attachType?: number, flags?: number, btf?: BtfRule, unsupported?: string];

const P = { ...ProgType, ...MoreProgTypes };
const A = MoreAttachTypes;
const S = ProgFlag.SLEEPABLE;
const FRAGS = ProgFlag.XDP_HAS_FRAGS;

/*
 * libbpf's section_defs, in its order (first match wins). A pattern ending in '+' matches the name itself
 * or the name followed by '/...'; one ending in '/' matches any name with that prefix; any other matches
 * exactly. The rules marked "bpfkit" are not libbpf's: iproute2-era prefixes bpfkit has always accepted.
 */
const RULES: Rule[] = [
  ['socket', P.SOCKET_FILTER],
  ['socket/', P.SOCKET_FILTER], // bpfkit
  ['sk_reuseport/migrate', P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE],
  ['sk_reuseport', P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT],
  ['kprobe+', P.KPROBE],
  ['uprobe+', P.KPROBE],
  ['uprobe.s+', P.KPROBE, undefined, S],
  ['kretprobe+', P.KPROBE],
  ['uretprobe+', P.KPROBE],
  ['uretprobe.s+', P.KPROBE, undefined, S],
  ['kprobe.multi+', P.KPROBE, A.TRACE_KPROBE_MULTI],
  ['kretprobe.multi+', P.KPROBE, A.TRACE_KPROBE_MULTI],
  ['kprobe.session+', P.KPROBE, A.TRACE_KPROBE_SESSION],
  ['uprobe.multi+', P.KPROBE, A.TRACE_UPROBE_MULTI],
  ['uretprobe.multi+', P.KPROBE, A.TRACE_UPROBE_MULTI],
  ['uprobe.session+', P.KPROBE, A.TRACE_UPROBE_SESSION],
  ['uprobe.multi.s+', P.KPROBE, A.TRACE_UPROBE_MULTI, S],
  ['uretprobe.multi.s+', P.KPROBE, A.TRACE_UPROBE_MULTI, S],
  ['uprobe.session.s+', P.KPROBE, A.TRACE_UPROBE_SESSION, S],
  ['ksyscall+', P.KPROBE],
  ['kretsyscall+', P.KPROBE],
  ['usdt+', P.KPROBE],
  ['usdt.s+', P.KPROBE, undefined, S],
  ['tc/ingress', P.SCHED_CLS, A.TCX_INGRESS],
  ['tc/egress', P.SCHED_CLS, A.TCX_EGRESS],
  ['tcx/ingress', P.SCHED_CLS, A.TCX_INGRESS],
  ['tcx/egress', P.SCHED_CLS, A.TCX_EGRESS],
  ['tc', P.SCHED_CLS],
  ['tc/', P.SCHED_CLS], // bpfkit
  ['classifier', P.SCHED_CLS],
  ['classifier/', P.SCHED_CLS], // bpfkit
  ['action', P.SCHED_ACT],
  ['action/', P.SCHED_ACT], // bpfkit
  ['netkit/primary', P.SCHED_CLS, A.NETKIT_PRIMARY],
  ['netkit/peer', P.SCHED_CLS, A.NETKIT_PEER],
  ['tracepoint+', P.TRACEPOINT],
  ['tp+', P.TRACEPOINT],
  ['raw_tracepoint+', P.RAW_TRACEPOINT],
  ['raw_tp+', P.RAW_TRACEPOINT],
  ['raw_tracepoint.w+', P.RAW_TRACEPOINT_WRITABLE],
  ['raw_tp.w+', P.RAW_TRACEPOINT_WRITABLE],
  ['tp_btf+', P.TRACING, A.TRACE_RAW_TP, 0, 'tp_btf'],
  ['fentry+', P.TRACING, A.TRACE_FENTRY, 0, 'func'],
  ['fmod_ret+', P.TRACING, A.MODIFY_RETURN, 0, 'func'],
  ['fexit+', P.TRACING, A.TRACE_FEXIT, 0, 'func'],
  ['fentry.s+', P.TRACING, A.TRACE_FENTRY, S, 'func'],
  ['fmod_ret.s+', P.TRACING, A.MODIFY_RETURN, S, 'func'],
  ['fexit.s+', P.TRACING, A.TRACE_FEXIT, S, 'func'],
  ['freplace+', P.EXT, undefined, 0, undefined, 'freplace needs the BPF program it replaces (attach_prog_fd)'],
  ['lsm+', P.LSM, A.LSM_MAC, 0, 'lsm'],
  ['lsm.s+', P.LSM, A.LSM_MAC, S, 'lsm'],
  ['lsm_cgroup+', P.LSM, A.LSM_CGROUP, 0, 'lsm'],
  ['iter+', P.TRACING, A.TRACE_ITER, 0, 'iter'],
  ['iter.s+', P.TRACING, A.TRACE_ITER, S, 'iter'],
  ['syscall', P.SYSCALL, undefined, S],
  ['xdp.frags/devmap', P.XDP, A.XDP_DEVMAP, FRAGS],
  ['xdp/devmap', P.XDP, A.XDP_DEVMAP],
  ['xdp.frags/cpumap', P.XDP, A.XDP_CPUMAP, FRAGS],
  ['xdp/cpumap', P.XDP, A.XDP_CPUMAP],
  ['xdp.frags', P.XDP, A.XDP, FRAGS],
  ['xdp', P.XDP, A.XDP],
  ['xdp/', P.XDP, A.XDP], // bpfkit
  ['perf_event', P.PERF_EVENT],
  ['lwt_in', P.LWT_IN],
  ['lwt_out', P.LWT_OUT],
  ['lwt_xmit', P.LWT_XMIT],
  ['lwt_seg6local', P.LWT_SEG6LOCAL],
  ['sockops', P.SOCK_OPS, A.CGROUP_SOCK_OPS],
  ['sk_skb/stream_parser', P.SK_SKB, A.SK_SKB_STREAM_PARSER],
  ['sk_skb/stream_verdict', P.SK_SKB, A.SK_SKB_STREAM_VERDICT],
  ['sk_skb/verdict', P.SK_SKB, A.SK_SKB_VERDICT], // bpfkit (libbpf loads it as plain sk_skb)
  ['sk_skb', P.SK_SKB],
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
  ['cgroup/bind4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND],
  ['cgroup/bind6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND],
  ['cgroup/connect4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT],
  ['cgroup/connect6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT],
  ['cgroup/connect_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT],
  ['cgroup/sendmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG],
  ['cgroup/sendmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG],
  ['cgroup/sendmsg_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG],
  ['cgroup/recvmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG],
  ['cgroup/recvmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG],
  ['cgroup/recvmsg_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG],
  ['cgroup/getpeername4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME],
  ['cgroup/getpeername6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME],
  ['cgroup/getpeername_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME],
  ['cgroup/getsockname4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME],
  ['cgroup/getsockname6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME],
  ['cgroup/getsockname_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME],
  ['cgroup/sysctl', P.CGROUP_SYSCTL, A.CGROUP_SYSCTL],
  ['cgroup/getsockopt', P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT],
  ['cgroup/setsockopt', P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT],
  ['cgroup/dev', P.CGROUP_DEVICE, A.CGROUP_DEVICE],
  ['struct_ops+', P.STRUCT_OPS, undefined, 0, undefined, UNBOUND_STRUCT_OPS],
  ['struct_ops.s+', P.STRUCT_OPS, undefined, S, undefined, UNBOUND_STRUCT_OPS],
  ['sk_lookup', P.SK_LOOKUP, A.SK_LOOKUP],
  ['netfilter', P.NETFILTER, A.NETFILTER],
];

function matches(pattern: string, section: string): boolean {
  if (pattern.endsWith('/')) return section.startsWith(pattern);
  if (pattern.endsWith('+')) {
    const base = pattern.slice(0, -1);
    return section === base || section.startsWith(`${base}/`);
  }
  return section === pattern;
}

/** The kernel BTF type a section's attach target names (libbpf's btf_trace_ / bpf_lsm_ / bpf_iter_ prefixes). */
function attachBtfOf(rule: BtfRule, section: string): AttachBtfSpec {
  const slash = section.indexOf('/');
  const target = slash < 0 ? '' : section.slice(slash + 1);
  switch (rule) {
    case 'tp_btf':
      return { target, typeName: `btf_trace_${target}`, kind: 'typedef' };
    case 'lsm':
      return { target, typeName: `bpf_lsm_${target}`, kind: 'func' };
    case 'iter':
      return { target, typeName: `bpf_iter_${target}`, kind: 'func' };
    default:
      return { target, typeName: target, kind: 'func' };
  }
}

/** The program type a section name implies, or undefined when the name follows no known convention. */
export function sectionType(section: string): SectionType | undefined {
  // libbpf's '?' in front (SEC("?tc")): the same type, loaded only when asked for (ProgramSpec.autoload)
  if (section.startsWith('?')) section = section.slice(1);
  for (const [pattern, type, attachType, flags, btf, unsupported] of RULES) {
    if (!matches(pattern, section)) continue;
    const st: SectionType = { type };
    if (attachType !== undefined) st.attachType = attachType;
    if (flags) st.flags = flags;
    if (btf) st.attachBtf = attachBtfOf(btf, section);
    if (unsupported) st.unsupported = unsupported;
    return st;
  }
  return undefined;
}

/** The section names libbpf knows (as its table spells them), for messages that list them. */
export function knownSectionNames(): string[] {
  return RULES.map(([pattern]) => pattern);
}

/**
 * A program type a user names (`--type`): a program type as bpftool prints it (`socket_filter`, `sched_cls`,
 * `tracing`...), a short alias (`socket`, `tc`), or any section name libbpf knows (`xdp`, `tp_btf/sched_switch`).
 */
export function programTypeByName(name: string): SectionType | undefined {
  const key = name.toUpperCase().replace(/^BPF_PROG_TYPE_/, '');
  const direct = (P as Record<string, number>)[key];
  if (direct !== undefined && direct !== 0) return { type: direct };
  return sectionType(name);
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
