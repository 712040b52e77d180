/* A map of maps with no inner map template (no __array(values, ...)): the loader of such an object sets the
 * inner map at run time (libbpf's bpf_map__set_inner_map_fd). It parses and lists; loading it as it stands is
 * refused, as the kernel refuses libbpf's create of it (EINVAL). */
#include "corpus.h"
struct {
  __uint(type, 13); /* BPF_MAP_TYPE_HASH_OF_MAPS */
  __uint(max_entries, 16);
  __type(key, __u64);
  __type(value, __u32);
} outer_by_id SEC(".maps");
static void *(*map_lookup_elem)(void *map, const void *key) = (void *)1;
SEC("socket") int find_inner(void *ctx) {
  __u64 id = 1;
  return map_lookup_elem(&outer_by_id, &id) ? 1 : 0;
}
LICENSE;
