/* A map of maps whose inner maps' values hold a spin lock: the kernel checks each map put in a slot against
 * the inner template's BTF record, so the template must be created with its BTF, as libbpf creates it. */
#include "corpus.h"
struct bpf_spin_lock { __u32 val; };
struct locked { struct bpf_spin_lock lock; __u32 count; };
struct inner { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, struct locked); } inner_a SEC(".maps");
struct { __uint(type, 12); __uint(max_entries, 2); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps") = { .values = { [1] = &inner_a } };
SEC("socket") int uses_outer(void *ctx) { return 0; }
LICENSE;
