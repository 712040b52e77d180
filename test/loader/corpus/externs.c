/* Every extern kind: .kconfig (virtual LINUX_*, CONFIG_* int/bool/tristate/string, weak missing), typed and
 * typeless .ksyms, kfunc calls. The values land in `out` so a run could compare them. */
#include "corpus.h"
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_LSM __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern int CONFIG_BPFKIT_NOT_A_CONFIG __kconfig __weak;
extern const int bpf_prog_active __ksym;
extern const void __x64_sys_bpf __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct {
  __uint(type, 2);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

static void *(*map_lookup)(void *map, const void *key) = (void *)1;

static __attribute__((always_inline)) void put(__u32 k, __u64 v) {
  __u64 *slot = map_lookup(&out, &k);
  if (slot) *slot = v;
}

SEC("tp_btf/sched_switch") int externs(__u64 *ctx) {
  put(0, LINUX_KERNEL_VERSION);
  put(1, LINUX_HAS_SYSCALL_WRAPPER);
  put(2, CONFIG_HZ);
  put(3, CONFIG_BPF_SYSCALL);
  put(4, CONFIG_BPF_LSM);
  put(5, CONFIG_DEFAULT_HOSTNAME[1]);
  put(6, CONFIG_BPFKIT_NOT_A_CONFIG);
  put(7, (__u64)&__x64_sys_bpf != 0);
  bpf_rcu_read_lock();
  bpf_rcu_read_unlock();
  return (long)&bpf_prog_active & 1;
}
LICENSE;
