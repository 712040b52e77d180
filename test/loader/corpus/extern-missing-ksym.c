/* A strong typed ksym the kernel does not have: refused. */
#include "corpus.h"
extern const int bpfkit_no_such_variable __ksym;
static volatile long sink;
SEC("tp_btf/sched_switch") int missing_ksym(__u64 *ctx) {
  sink = (long)&bpfkit_no_such_variable;
  return 0;
}
LICENSE;
