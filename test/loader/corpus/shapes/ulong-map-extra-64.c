/* map_extra above 32 bits with __ulong: clang 15+ writes the enum as ENUM64 (an arena's address hint is one). */
#include "../corpus.h"
#define __ulong(name, val) enum { name##_value = val } name
struct { __uint(type, 30); __uint(max_entries, 64); __type(value, __u32); __ulong(map_extra, 1ull << 40 | 3); } bloom SEC(".maps");
SEC("socket") int uses_bloom(void *ctx) { return 0; }
LICENSE;
