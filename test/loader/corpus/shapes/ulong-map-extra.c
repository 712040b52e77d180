/* map_extra written with libbpf 1.4's __ulong: an enum of one value in BTF (ENUM, or ENUM64 from clang 15 on). */
#include "../corpus.h"
#define __ulong(name, val) enum { name##_value = val } name
struct { __uint(type, 30); __uint(max_entries, 64); __type(value, __u32); __ulong(map_extra, 3); } bloom SEC(".maps");
SEC("socket") int uses_bloom(void *ctx) { return 0; }
LICENSE;
