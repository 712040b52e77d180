/* fentry/fexit/fmod_ret: BPF trampolines, which this machine's kernel lockdown refuses (EPERM). */
#include "corpus.h"
SEC("fentry/do_unlinkat") int fe(__u64 *ctx) { return 0; }
SEC("fexit/do_unlinkat") int fx(__u64 *ctx) { return 0; }
LICENSE;
