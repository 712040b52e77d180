/* libbpf's virtual .kconfig externs as numbers: the same LINUX_* extern declared int, char or bool (as
 * different projects declare it) takes 0 or 1, never the letters y/n of a CONFIG_ value. */
#include "corpus.h"
extern int LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_KERNEL_VERSION __kconfig;
extern char LINUX_HAS_BPF_COOKIE __kconfig;

struct {
  __uint(type, 2);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

static void *(*map_lookup)(void *map, const void *key) = (void *)1;

SEC("socket") int virtuals(void *ctx) {
  __u32 k = 0;
  __u64 *slot = map_lookup(&out, &k);
  if (slot) *slot = LINUX_HAS_SYSCALL_WRAPPER + LINUX_KERNEL_VERSION + LINUX_HAS_BPF_COOKIE;
  return 0;
}
LICENSE;
