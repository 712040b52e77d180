/* A global in '.addr_space.1', where clang 18+ puts __arena variables: libbpf 1.4+ places it in the arena map. */
#include "../corpus.h"
struct { __uint(type, 33); __uint(map_flags, 1 << 10); __uint(max_entries, 4); } arena SEC(".maps");
int counter SEC(".addr_space.1");
SEC("socket") int bumps(void *ctx) { counter++; return 0; }
SEC("socket") int plain(void *ctx) { return 0; }
LICENSE;
