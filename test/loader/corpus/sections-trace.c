/* Tracing section families that load on a kernel without kprobes or fentry (attaching is another matter). */
#include "corpus.h"
SEC("kprobe/do_unlinkat") int kp(void *ctx) { return 0; }
SEC("kretprobe/do_unlinkat") int krp(void *ctx) { return 0; }
SEC("ksyscall/getpid") int ksys(void *ctx) { return 0; }
SEC("uprobe") int up(void *ctx) { return 0; }
SEC("uretprobe.s") int urp_sleepable(void *ctx) { return 0; }
SEC("usdt") int usdt_probe(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_getpid") int tp_long(void *ctx) { return 0; }
SEC("tp/sched/sched_switch") int tp_short(void *ctx) { return 0; }
SEC("raw_tp/sched_switch") int raw(void *ctx) { return 0; }
SEC("raw_tracepoint/sched_wakeup") int raw_long(void *ctx) { return 0; }
SEC("tp_btf/sched_switch") int btf_tp(__u64 *ctx) { return 0; }
SEC("perf_event") int perf(void *ctx) { return 0; }
SEC("iter/task") int iter_task(void *ctx) { return 0; }
SEC("syscall") int sys_prog(void *ctx) { return 0; }
LICENSE;
