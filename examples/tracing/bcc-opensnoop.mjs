// BCC's dialect as it is: BPF_HASH, BPF_PERF_OUTPUT, TRACEPOINT_PROBE, table.method(...). An opensnoop
// in BCC style, each line with the process's count of opens so far.
// Run as root: node examples/tracing/bcc-opensnoop.mjs
import { BPF } from 'bpfkit/trace';

const bpf = await BPF.fromBcc(`
#include <linux/sched.h>
struct data_t { u32 pid; char comm[TASK_COMM_LEN]; char path[128]; };
BPF_EVENT_TYPE(data_t);
BPF_HASH(counts, u32);
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
  struct data_t d = {};
  d.pid = bpf_get_current_pid_tgid() >> 32;
  counts.increment(d.pid);
  bpf_get_current_comm(&d.comm, sizeof(d.comm));
  bpf_probe_read_user_str(&d.path, sizeof(d.path), args->filename);
  events.perf_submit(args, &d, sizeof(d));
  return 0;
}
`);
bpf.attachAll();
const counts = bpf.table('counts'); // BCC's b["counts"]
const key = new Uint8Array(4);
// Ctrl-C detaches everything and ends the loop (bpfkit's exit handling).
for await (const ev of bpf.perfBuffer('events', { struct: 'data_t' })) {
  new DataView(key.buffer).setUint32(0, ev.pid, true);
  const n = counts.lookup(key);
  console.log(`${ev.pid} ${ev.comm} ${ev.path} (${n ? new DataView(n.buffer).getBigUint64(0, true) : '?'} opens so far)`);
}
