/* libbpf's '?' section prefix: the program has its section's type but is loaded only when asked for. */
#include "corpus.h"
struct { __uint(type, 2); __uint(max_entries, 1); __uint(key_size, 4); __uint(value_size, 8); } only_optional SEC(".maps");

SEC("xdp") int always(void *ctx) { return 2; }

SEC("?tc") int optional_tc(void *ctx)
{
	__u32 k = 0;
	__u64 *v = ((void *(*)(void *, const void *))1)(&only_optional, &k);
	return v ? 0 : 2;
}

SEC("?raw_tp/sys_enter") int optional_raw_tp(void *ctx) { return 0; }
LICENSE;
