/* A tp_btf target the kernel does not have: both loaders refuse. */
#include "corpus.h"
SEC("tp_btf/no_such_tracepoint_bpfkit") int nope(__u64 *ctx) { return 0; }
LICENSE;
