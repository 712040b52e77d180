/**
 * The BPF side of tcpretrans: the raw tracepoint tcp_retransmit_skb (args: sk, skb and, since Linux
 * 6.17, err), which the kernel fires for every retransmit attempt (SYN retransmits included). The socket's
 * addresses, ports and state are read from `struct sock_common` at offsets taken from the kernel's BTF
 * (passed to clang as -D), so the program needs no kernel headers and no CO-RE.
 *
 * Why a raw tracepoint and not the tcp:tcp_retransmit_skb perf tracepoint: the kernel runs the
 * programs of a perf tracepoint (and of kprobes and perf events) only when no other such program is
 * running on that CPU (the per-CPU bpf_prog_active guard), and skips them silently otherwise, counting
 * a recursion miss. Retransmits run from timers in softirq context, which can interrupt any other tool's
 * syscall tracepoint program; on a machine where other tracers run, events went missing (4 of 8 in a
 * round under a busy sys_enter tracepoint program). A raw tracepoint's guard is per program: only a
 * retransmit interrupting this same program on the same CPU is missed, and the kernel counts that in
 * the program's recursion_misses (fdinfo), where a caller can see it.
 *
 * Since 6.17 the tracepoint also fires for attempts that failed (err != 0: the skb still queued in the
 * host, no route, no memory, the transmit refused); those were never reported before 6.17 and are not
 * retransmitted segments, so the program drops them: the tool reports retransmits that went out, as
 * BCC's does on the kernels it was written for.
 *
 * Retransmits run from timers in softirq context, so the pid is whatever task the CPU interrupted, as
 * in BCC's tcpretrans (often 0).
 */

/** Offsets in `struct sock` of the fields tcpretrans reads (`v6` absent on a kernel without IPv6). */
export interface RetransOffsets {
  family: number;
  state: number;
  /** skc_num: the local port, host order. */
  num: number;
  /** skc_dport: the remote port, network order. */
  dport: number;
  /** skc_rcv_saddr and skc_daddr: the IPv4 addresses. */
  saddr: number;
  daddr: number;
  v6?: { saddr: number; daddr: number };
}

/** clang -D flags for tcpRetransSource: the offsets, and HAS_ERR when the tracepoint passes err. */
export function tcpRetransFlags(offsets: RetransOffsets, hasErr: boolean): string[] {
  const flags = [
    `-DOFF_FAMILY=${offsets.family}`,
    `-DOFF_STATE=${offsets.state}`,
    `-DOFF_NUM=${offsets.num}`,
    `-DOFF_DPORT=${offsets.dport}`,
    `-DOFF_SADDR=${offsets.saddr}`,
    `-DOFF_DADDR=${offsets.daddr}`,
  ];
  if (offsets.v6) flags.push(`-DOFF_V6_SADDR=${offsets.v6.saddr}`, `-DOFF_V6_DADDR=${offsets.v6.daddr}`);
  // (reading an argument the tracepoint does not pass is refused at attach: err only where it exists)
  if (hasErr) flags.push('-DHAS_ERR=1');
  return flags;
}

/** The C source of tcpretrans (compiled with tcpRetransFlags). */
export function tcpRetransSource(): string {
  return `#include <bpf/bpf_helpers.h>

struct event {
\t__u64 ts_ns;
\t__u32 pid;
\t__u32 uid;
\t__u16 family;
\t__u16 lport;
\t__u16 dport;
\t__u16 state;
\t__u8 saddr[16];
\t__u8 daddr[16];
\tchar comm[16];
};
BPF_EVENT_TYPE(event);

struct {
\t__uint(type, BPF_MAP_TYPE_RINGBUF);
\t__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Ports to report (-P), either end: an empty map means every port. */
struct {
\t__uint(type, BPF_MAP_TYPE_HASH);
\t__uint(max_entries, 64);
\t__type(key, __u16);
\t__type(value, __u8);
} ports SEC(".maps");

SEC("raw_tp/tcp_retransmit_skb")
int tcp_retransmit(__u64 *ctx) {
#ifdef HAS_ERR
\tif ((int)ctx[2] != 0) return 0; /* an attempt that did not go out */
#endif
\tconst char *sk = (const char *)ctx[0];
\t__u16 family = 0, lport = 0, dport = 0;
\t__u8 state = 0;
\tif (bpf_probe_read_kernel(&family, 2, sk + OFF_FAMILY)) return 0;
\tif (family != 2 && family != 10) return 0;
#ifdef FILTER_FAMILY
\tif (family != FILTER_FAMILY) return 0;
#endif
#ifndef OFF_V6_SADDR
\tif (family == 10) return 0;
#endif
\tbpf_probe_read_kernel(&lport, 2, sk + OFF_NUM);
\tbpf_probe_read_kernel(&dport, 2, sk + OFF_DPORT);
\tdport = __builtin_bswap16(dport);
#ifdef FILTER_PORTS
\tif (!bpf_map_lookup_elem(&ports, &lport) && !bpf_map_lookup_elem(&ports, &dport)) return 0;
#endif
\tbpf_probe_read_kernel(&state, 1, sk + OFF_STATE);
\tstruct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
\tif (!e) return 0;
\t__builtin_memset(e, 0, sizeof(*e));
\te->ts_ns = bpf_ktime_get_ns();
\te->pid = bpf_get_current_pid_tgid() >> 32;
\te->uid = (__u32)bpf_get_current_uid_gid();
\te->family = family == 2 ? 4 : 6;
\te->lport = lport;
\te->dport = dport;
\te->state = state;
\tif (family == 2) {
\t\tbpf_probe_read_kernel(e->saddr, 4, sk + OFF_SADDR);
\t\tbpf_probe_read_kernel(e->daddr, 4, sk + OFF_DADDR);
\t}
#ifdef OFF_V6_SADDR
\telse {
\t\tbpf_probe_read_kernel(e->saddr, 16, sk + OFF_V6_SADDR);
\t\tbpf_probe_read_kernel(e->daddr, 16, sk + OFF_V6_DADDR);
\t}
#endif
\tbpf_get_current_comm(e->comm, sizeof(e->comm));
\tbpf_ringbuf_submit(e, 0);
\treturn 0;
}

char LICENSE[] SEC("license") = "GPL";
`;
}
