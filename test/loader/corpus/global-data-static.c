/* Global data whose sections hold only static variables (a config block the loader patches before load,
 * a static counter) next to one that holds a global: libbpf makes an internal map mmapable only when its
 * DATASEC has a non-static variable, so .rodata and .bss here are not mmapable and .data is. */
#include "corpus.h"
struct config { __u32 mode; __u32 limit; };
static volatile const struct config conf = { 1, 64 };
static __u32 hits;
__u32 total = 5;
SEC("socket") int static_globals(void *ctx) {
  hits++;
  total += hits;
  return conf.mode == 1 ? conf.limit : total;
}
LICENSE;
