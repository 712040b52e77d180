// The BCC workflow in a dozen lines: C in, attached to a tracepoint, events out as objects.
// Run as root: node examples/tracing/execsnoop-lite.mjs   (Ctrl-C stops and detaches)
import { BPF } from 'bpfkit/trace';

const bpf = await BPF.fromC(`
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
struct event { __u32 pid; char comm[16]; };
BPF_EVENT_TYPE(event);
SEC("tracepoint/syscalls/sys_enter_execve")
int handle(void *ctx) {
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_ringbuf_submit(e, 0);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`);
bpf.attachTracepoint('syscalls', 'sys_enter_execve', 'handle');
for await (const ev of bpf.ringbuf('events', { struct: 'event' })) console.log(`${ev.pid} ${ev.comm} exec`);
