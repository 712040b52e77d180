/* BPF arena (kernel 6.9, libbpf 1.4): mmapable pages shared with userspace. */
#include "corpus.h"
struct { __uint(type, 33); __uint(map_flags, 1 << 10); __uint(max_entries, 4); } arena SEC(".maps");
SEC("socket") int with_arena(void *ctx) { return 0; }
LICENSE;
