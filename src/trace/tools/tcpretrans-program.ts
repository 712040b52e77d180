/**
 * The BPF side of tcpretrans: tracepoint tcp:tcp_retransmit_skb, which the kernel fires for every
 * retransmitted segment (SYN retransmits included) with the socket's addresses, ports and state. The
 * context struct is written from this kernel's tracefs format. Retransmits run from timers in softirq
 * context, so the pid is whatever task the CPU interrupted, as in BCC's tcpretrans (often 0).
 */
import { tracepointStruct } from '../tracepoint-struct.js';
import type { TracepointField } from '../../kernel/attach/tracefs.js';

/** The C source of tcpretrans, given tcp:tcp_retransmit_skb's format. */
export function tcpRetransSource(format: TracepointField[]): string {
  return `#include <bpf/bpf_helpers.h>

${tracepointStruct('tp_retransmit', format)}
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

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit(struct tp_retransmit *ctx) {
\t__u16 family = ctx->family;
\tif (family != 2 && family != 10) return 0;
#ifdef FILTER_FAMILY
\tif (family != FILTER_FAMILY) return 0;
#endif
#ifdef FILTER_PORTS
\t__u16 sport = ctx->sport, dport = ctx->dport;
\tif (!bpf_map_lookup_elem(&ports, &sport) && !bpf_map_lookup_elem(&ports, &dport)) return 0;
#endif
\tstruct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
\tif (!e) return 0;
\te->ts_ns = bpf_ktime_get_ns();
\te->pid = bpf_get_current_pid_tgid() >> 32;
\te->uid = (__u32)bpf_get_current_uid_gid();
\te->family = family == 2 ? 4 : 6;
\te->lport = ctx->sport;
\te->dport = ctx->dport;
\te->state = ctx->state;
\tif (family == 2) {
\t\t__builtin_memcpy(e->saddr, ctx->saddr, 4);
\t\t__builtin_memcpy(e->daddr, ctx->daddr, 4);
\t} else {
\t\t__builtin_memcpy(e->saddr, ctx->saddr_v6, 16);
\t\t__builtin_memcpy(e->daddr, ctx->daddr_v6, 16);
\t}
\tbpf_get_current_comm(e->comm, sizeof(e->comm));
\tbpf_ringbuf_submit(e, 0);
\treturn 0;
}

char LICENSE[] SEC("license") = "GPL";
`;
}
