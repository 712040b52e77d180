/* Weak externs the kernel lacks: a typed ksym and a kfunc (libbpf 1.2+ poisons the guarded call). */
#include "corpus.h"
extern const int bpfkit_no_such_variable __ksym __weak;
extern void bpfkit_no_such_kfunc(void) __ksym __weak;
SEC("tp_btf/sched_switch") int weak_externs(__u64 *ctx) {
  if (&bpfkit_no_such_kfunc) bpfkit_no_such_kfunc();
  return (long)&bpfkit_no_such_variable & 1;
}
LICENSE;
