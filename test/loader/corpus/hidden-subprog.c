/*
 * A hidden global subprogram (libbpf's `__hidden`, as usdt.bpf.h declares bpf_usdt_arg): libbpf makes its
 * BTF static, so the kernel checks it in the caller's context, where `res` is a stack slot. Checked alone as
 * a global function, `res` could be NULL and the store is refused.
 */
#include "corpus.h"
#define __hidden __attribute__((visibility("hidden")))
__weak __hidden int store_through(__u64 *res, __u64 v) {
  *res = v;
  return 0;
}
SEC("socket") int hidden_subprog(void *ctx) {
  __u64 x = 0;
  store_through(&x, 7);
  return x;
}
LICENSE;
