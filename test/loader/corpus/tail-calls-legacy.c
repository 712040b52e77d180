/* iproute2's tail-call shape: a prog array in the legacy `maps` section (struct bpf_elf_map with an id), and
 * programs in sections named ID/KEY that the loader places into that array at KEY. __section_tail(ID, KEY)
 * stringifies its arguments, so the ID is often hex (tc reads it with %i). tc loads the classifier it is
 * given and fills the array with the others; so must a partial load of the classifier alone. */
#include "corpus.h"
struct bpf_elf_map {
  __u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};
struct bpf_elf_map SEC("maps") jmp = { .type = 3, .size_key = 4, .size_value = 4, .max_elem = 4, .id = 7 };
static long (*tail_call)(void *ctx, void *map, __u32 index) = (void *)12;
SEC("7/0") int case_zero(void *ctx) { return 10; }
SEC("0x7/2") int case_two(void *ctx) {
  tail_call(ctx, &jmp, 0);
  return 12;
}
SEC("classifier") int entry(void *ctx) {
  tail_call(ctx, &jmp, 2);
  return 1;
}
LICENSE;
