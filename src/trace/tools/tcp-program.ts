/**
 * The BPF side of tcpconnect and tcpaccept, as C compiled at run time against this kernel's tracepoint
 * formats (tracefs) — no kernel headers, no CO-RE.
 *
 * connect: sock:inet_sock_set_state CLOSE → SYN_SENT runs inside connect(2), so the current task is the
 * connecting process.
 * accept: the SYN_RECV → ESTABLISHED transition runs in softirq context, on behalf of whatever task the
 * CPU was running (on loopback: the client). So the tracepoint only records the connection's addresses,
 * keyed by the socket; the accepting process is known when accept(2)/accept4(2) returns: the exit
 * tracepoint follows the returned fd (task → files → fdt → fd[] → file → socket → sk, offsets from the
 * kernel's BTF, passed as -D) to that socket and emits the event in the acceptor's context.
 */
import { tracepointStruct } from '../tracepoint-struct.js';
import type { TracepointField } from '../../kernel/attach/tracefs.js';

/** The C source for `kind`, given the tracepoint formats it reads. */
export function tcpProgramSource(
  kind: 'connect' | 'accept',
  formats: { setState: TracepointField[]; acceptExit: TracepointField[] },
): string {
  const common = `#include <bpf/bpf_helpers.h>

${tracepointStruct('tp_set_state', formats.setState)}
${tracepointStruct('tp_sys_exit', formats.acceptExit)}
struct event {
\t__u64 ts_ns;
\t__u32 pid;
\t__u32 uid;
\t__u16 family;
\t__u16 lport;
\t__u16 dport;
\t__u16 pad;
\t__u8 saddr[16];
\t__u8 daddr[16];
\tchar comm[16];
};
BPF_EVENT_TYPE(event);

struct {
\t__uint(type, BPF_MAP_TYPE_RINGBUF);
\t__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Ports to report (-P): an empty map means every port. */
struct {
\t__uint(type, BPF_MAP_TYPE_HASH);
\t__uint(max_entries, 64);
\t__type(key, __u16);
\t__type(value, __u8);
} ports SEC(".maps");

static __always_inline int wanted(__u16 port) {
#ifdef FILTER_PORTS
\treturn bpf_map_lookup_elem(&ports, &port) != 0;
#else
\treturn 1;
#endif
}

static __always_inline int task_wanted(__u64 id, __u32 uid) {
#ifdef FILTER_PID
\tif ((id >> 32) != FILTER_PID) return 0;
#endif
#ifdef FILTER_UID
\tif (uid != FILTER_UID) return 0;
#endif
\treturn 1;
}

static __always_inline void fill_addrs(struct event *e, struct tp_set_state *ctx) {
\te->family = ctx->family == 2 ? 4 : 6;
\tif (ctx->family == 2) {
\t\t__builtin_memcpy(e->saddr, ctx->saddr, 4);
\t\t__builtin_memcpy(e->daddr, ctx->daddr, 4);
\t} else {
\t\t__builtin_memcpy(e->saddr, ctx->saddr_v6, 16);
\t\t__builtin_memcpy(e->daddr, ctx->daddr_v6, 16);
\t}
\te->lport = ctx->sport;
\te->dport = ctx->dport;
}

static __always_inline int family_wanted(__u16 family) {
\tif (family != 2 && family != 10) return 0;
#ifdef FILTER_FAMILY
\tif (family != FILTER_FAMILY) return 0;
#endif
\treturn 1;
}

char LICENSE[] SEC("license") = "GPL";
`;
  if (kind === 'connect') {
    return `${common}
SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct tp_set_state *ctx) {
\tif (ctx->protocol != 6 || ctx->oldstate != 7 || ctx->newstate != 2) return 0; /* TCP, CLOSE -> SYN_SENT */
\tif (!family_wanted(ctx->family) || !wanted(ctx->dport)) return 0;
\t__u64 id = bpf_get_current_pid_tgid();
\t__u32 uid = (__u32)bpf_get_current_uid_gid();
\tif (!task_wanted(id, uid)) return 0;
\tstruct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
\tif (!e) return 0;
\te->ts_ns = bpf_ktime_get_ns();
\te->pid = id >> 32;
\te->uid = uid;
\te->pad = 0;
\tfill_addrs(e, ctx);
\tbpf_get_current_comm(e->comm, sizeof(e->comm));
\tbpf_ringbuf_submit(e, 0);
\treturn 0;
}
`;
  }
  return `${common}
/* Established connections not yet returned by accept(2), by socket address. */
struct {
\t__uint(type, BPF_MAP_TYPE_LRU_HASH);
\t__uint(max_entries, 16384);
\t__type(key, __u64);
\t__type(value, struct event);
} pending SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_established(struct tp_set_state *ctx) {
\tif (ctx->protocol != 6 || ctx->oldstate != 3 || ctx->newstate != 1) return 0; /* TCP, SYN_RECV -> ESTABLISHED */
\tif (!family_wanted(ctx->family) || !wanted(ctx->sport)) return 0;
\tstruct event e = {};
\tfill_addrs(&e, ctx);
\t__u64 key = 0;
\tkey = ctx->skaddr;
\tbpf_map_update_elem(&pending, &key, &e, BPF_ANY);
\treturn 0;
}

static __always_inline int accepted(struct tp_sys_exit *ctx) {
\tlong fd = ctx->ret;
\tif (fd < 0) return 0;
\t__u64 id = bpf_get_current_pid_tgid();
\t__u32 uid = (__u32)bpf_get_current_uid_gid();
\tif (!task_wanted(id, uid)) return 0;
\tchar *task = (char *)bpf_get_current_task();
\tchar *files = 0, *fdt = 0, **fds = 0, *file = 0, *sock = 0, *sk = 0;
\tif (bpf_probe_read_kernel(&files, 8, task + OFF_TASK_FILES) || !files) return 0;
\tif (bpf_probe_read_kernel(&fdt, 8, files + OFF_FILES_FDT) || !fdt) return 0;
\tif (bpf_probe_read_kernel(&fds, 8, fdt + OFF_FDT_FD) || !fds) return 0;
\tif (bpf_probe_read_kernel(&file, 8, fds + fd) || !file) return 0;
\tif (bpf_probe_read_kernel(&sock, 8, file + OFF_FILE_PRIVATE) || !sock) return 0;
\tif (bpf_probe_read_kernel(&sk, 8, sock + OFF_SOCKET_SK) || !sk) return 0;
\t__u64 key = (__u64)sk;
\tstruct event *p = bpf_map_lookup_elem(&pending, &key);
\tif (!p) return 0;
\tstruct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
\tif (!e) return 0;
\t__builtin_memcpy(e, p, sizeof(*e));
\tbpf_map_delete_elem(&pending, &key);
\te->ts_ns = bpf_ktime_get_ns();
\te->pid = id >> 32;
\te->uid = uid;
\tbpf_get_current_comm(e->comm, sizeof(e->comm));
\tbpf_ringbuf_submit(e, 0);
\treturn 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tcp_accept4(struct tp_sys_exit *ctx) { return accepted(ctx); }

SEC("tracepoint/syscalls/sys_exit_accept")
int tcp_accept(struct tp_sys_exit *ctx) { return accepted(ctx); }
`;
}
