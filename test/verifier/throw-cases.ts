/**
 * BPF exception programs (src/verifier/throw.ts), in C, each with the verdict Linux 6.18 gives: bpf_throw
 * from the program, a static or a global function, a bpf_loop or timer callback; the cookie against the
 * program's return range; references, RCU sections and disabled preemption at a throw; program types
 * without the kfunc; the `exception_callback:` decl tag and the callback's own rules.
 *
 * The callbacks here are written in sections of their own, which the ELF reader (as libbpf) does not
 * append to a program: `withExceptionCallback` appends them, so that the kernel sees the callback in
 * func_info and cases can name callbacks libbpf would refuse. A callback that is a global function of
 * .text, as real programs write it, the reader appends itself (throw.test.ts checks that).
 */
import type { ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';

/** One program of a case source and what the kernel says of it: 'ok', or its last line. */
export interface ThrowCase {
  /** The program's function name in `source`. */
  prog: string;
  /** THROW_SOURCE, EXCEPTION_CB_SOURCE or TAIL_SOURCE. */
  source: string;
  want: 'ok' | RegExp;
}

/** Includes, the kfuncs and helpers the cases call, and the `exception_cb(name)` tag. */
export const PRELUDE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
extern void bpf_throw(u64 cookie) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
static struct bpf_sock *(*sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *t, u32 size, u64 netns, u64 flags) = (void *)84;
static long (*sk_release)(void *sk) = (void *)86;
static long (*timer_init)(struct bpf_timer *timer, void *map, u64 flags) = (void *)169;
static long (*timer_set_callback)(struct bpf_timer *timer, void *cb) = (void *)170;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
static long (*ringbuf_reserve_dynptr)(void *rb, u32 size, u64 flags, struct bpf_dynptr *d) = (void *)198;
static void (*ringbuf_discard_dynptr)(struct bpf_dynptr *d, u64 flags) = (void *)200;
#define exception_cb(name) __attribute__((btf_decl_tag("exception_callback:" #name)))
char LICENSE[] SEC("license") = "GPL";
`;

/** Throws without an exception callback. */
export const THROW_SOURCE = `${PRELUDE}
SEC("tc") int tc_throw(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") int tc_dead_after_throw(struct __sk_buff *ctx) { bpf_throw(0); return *(volatile int *)0; }
SEC("xdp") int xdp_throw(struct xdp_md *ctx) { if (ctx->data == ctx->data_end) bpf_throw(2); return XDP_PASS; }
SEC("tp_btf/task_newtask") int tp_btf_throw(void *ctx) { bpf_throw(3); return 0; }
SEC("cgroup/connect4") int connect4_throw_1(struct bpf_sock_addr *ctx) { bpf_throw(1); return 1; }
SEC("cgroup_skb/ingress") int skb_throw_1(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(1); return 1; }
SEC("cgroup_skb/ingress") int skb_throw_5(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(5); return 1; }
SEC("cgroup_skb/ingress") int skb_throw_mark(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(ctx->mark); return 1; }
SEC("cgroup/sock_create") int sock_create_throw_2(struct bpf_sock *ctx) { bpf_throw(2); return 1; }
static __noinline int static_throws_5(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(5); return 0; }
SEC("cgroup_skb/ingress") int skb_static_throw_5(struct __sk_buff *ctx) { return static_throws_5(ctx) ? 0 : 1; }
__noinline int global_throws_5(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(5); return 0; }
SEC("cgroup_skb/ingress") int skb_global_throw_5(struct __sk_buff *ctx) { return global_throws_5(ctx) ? 0 : 1; }
SEC("syscall") int syscall_throw(void *ctx) { bpf_throw(0); return 0; }
SEC("socket") int socket_throw(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("kprobe") int kprobe_throw(void *ctx) { bpf_throw(0); return 0; }
SEC("sk_lookup") int sk_lookup_throw(struct bpf_sk_lookup *ctx) { bpf_throw(3); return 1; }
SEC("tc") int tc_pointer_cookie(struct __sk_buff *ctx) { bpf_throw((u64)ctx); return 0; }
SEC("tc") int tc_preempt_throw(struct __sk_buff *ctx) { bpf_preempt_disable(); bpf_throw(0); return 0; }
SEC("tc") int tc_rcu_preempt_throw(struct __sk_buff *ctx) { bpf_rcu_read_lock(); bpf_preempt_disable(); bpf_throw(0); return 0; }
SEC("tc") int tc_ref_in_rcu_throw(struct __sk_buff *ctx) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (!t) return 1;
  bpf_rcu_read_lock();
  bpf_throw(0);
  bpf_rcu_read_unlock();
  bpf_task_release(t);
  return 1;
}
SEC("cgroup_skb/ingress") int skb_ref_then_cookie_5(struct __sk_buff *ctx) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (!t) return 1;
  bpf_throw(5);
  bpf_task_release(t);
  return 1;
}
SEC("tc") int tc_socket_ref_throw(struct __sk_buff *ctx) {
  struct bpf_sock_tuple tup = {};
  struct bpf_sock *sk = sk_lookup_tcp(ctx, &tup, sizeof(tup.ipv4), -1, 0);
  if (!sk) return 0;
  if (ctx->len > 10) bpf_throw(0);
  sk_release(sk);
  return 0;
}
__noinline int global_ref_throws(struct __sk_buff *ctx) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (!t) return 1;
  if (ctx->len) bpf_throw(0);
  bpf_task_release(t);
  return 0;
}
SEC("tc") int tc_global_ref_throw(struct __sk_buff *ctx) { return global_ref_throws(ctx); }
SEC("tc") int tc_iter_throw(struct __sk_buff *ctx) {
  struct bpf_iter_num it;
  int *v, s = 0;
  bpf_iter_num_new(&it, 0, 10);
  while ((v = bpf_iter_num_next(&it))) {
    if (*v == ctx->len) bpf_throw(0);
    s += *v;
  }
  bpf_iter_num_destroy(&it);
  return s;
}
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("tc") int tc_dynptr_throw(struct __sk_buff *ctx) {
  struct bpf_dynptr d;
  ringbuf_reserve_dynptr(&rb, 8, 0, &d);
  if (ctx->len) bpf_throw(0);
  ringbuf_discard_dynptr(&d, 0);
  return 0;
}
static int loop_throws(u32 i, void *c) { if (i == 3) bpf_throw(0); return 0; }
SEC("tc") int tc_loop_cb_throw(struct __sk_buff *ctx) { bpf_loop(5, loop_throws, 0, 0); return 0; }
static int loop_quiet(u32 i, void *c) { return 0; }
SEC("tc") int tc_throw_after_loop(struct __sk_buff *ctx) { bpf_loop(5, loop_quiet, 0, 0); bpf_throw(7); return 0; }
__noinline int global_throws_if(int x) { if (x) bpf_throw(0); return 0; }
static int loop_calls_thrower(u32 i, void *c) { return global_throws_if(i); }
SEC("tc") int tc_loop_cb_global_throw(struct __sk_buff *ctx) { bpf_loop(5, loop_calls_thrower, 0, 0); return 0; }
static int loop_throws_any(u32 i, void *c) { bpf_throw(0); return 0; }
SEC("tc") int tc_loop_cb_ref_throw(struct __sk_buff *ctx) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (!t) return 1;
  bpf_loop(5, loop_throws_any, 0, 0);
  bpf_task_release(t);
  return 0;
}
struct elem { struct bpf_timer t; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct elem); } tmap SEC(".maps");
static int timer_throws_1(void *map, int *key, struct elem *v) { bpf_throw(1); return 0; }
static int timer_throws_0(void *map, int *key, struct elem *v) { bpf_throw(0); return 0; }
SEC("tc") int tc_timer_throw_1(struct __sk_buff *ctx) {
  int k = 0;
  struct elem *v = bpf_map_lookup_elem(&tmap, &k);
  if (!v) return 0;
  timer_init(&v->t, &tmap, 1);
  timer_set_callback(&v->t, timer_throws_1);
  return 0;
}
SEC("tc") int tc_timer_throw_0(struct __sk_buff *ctx) {
  int k = 0;
  struct elem *v = bpf_map_lookup_elem(&tmap, &k);
  if (!v) return 0;
  timer_init(&v->t, &tmap, 1);
  timer_set_callback(&v->t, timer_throws_0);
  return 0;
}
`;

/** Programs with an exception callback (each callback in a section of its own: see withExceptionCallback). */
export const EXCEPTION_CB_SOURCE = `${PRELUDE}
SEC("tc") __noinline int cb_any(u64 cookie) { return cookie; }
SEC("tc") __noinline int cb_five(u64 cookie) { return 5; }
SEC("tc") __noinline int cb_one(u64 cookie) { return 1; }
SEC("tc") __noinline int cb_small(int cookie) { return 0; }
SEC("tc") __noinline int cb_two_args(u64 a, u64 b) { return 0; }
SEC("tc") __noinline int cb_no_arg(void) { return 0; }
SEC("tc") __noinline int cb_ctx(struct __sk_buff *ctx) { return 0; }
SEC("tc") __noinline int cb_throws(u64 cookie) { bpf_throw(0); return 0; }
SEC("tc") __noinline void cb_void(u64 cookie) { }
static __noinline int static_thrower(u64 x) { if (x) bpf_throw(0); return 0; }
SEC("tc") __noinline int cb_calls_thrower(u64 cookie) { return static_thrower(cookie); }
SEC("tc") __noinline int cb_big_stack(u64 cookie) {
  volatile char buf[400];
  buf[cookie & 255] = 1;
  return buf[(cookie >> 8) & 255];
}
static __noinline int big_stack(u64 x) {
  volatile char buf[256];
  buf[x & 255] = 1;
  return buf[(x >> 8) & 255];
}
SEC("tc") __noinline int cb_calls_big(u64 cookie) {
  volatile char buf[300];
  buf[cookie & 255] = 1;
  return big_stack(cookie) + buf[(cookie >> 8) & 255];
}
static __noinline int cb_static(u64 cookie) { return cookie & 1; }
SEC("tc") exception_cb(cb_any) int tc_with_cb(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(42); return 0; }
SEC("tc") exception_cb(cb_any) int tc_with_cb_no_throw(struct __sk_buff *ctx) { return 0; }
SEC("cgroup_skb/ingress") exception_cb(cb_one) int skb_cb_one_throw_5(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(5); return 1; }
SEC("cgroup_skb/ingress") exception_cb(cb_five) int skb_cb_five(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(1); return 1; }
SEC("cgroup_skb/ingress") exception_cb(cb_any) int skb_cb_any(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(1); return 1; }
SEC("tc") exception_cb(cb_small) int tc_cb_small(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_two_args) int tc_cb_two_args(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_no_arg) int tc_cb_no_arg(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_ctx) int tc_cb_ctx(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_throws) int tc_cb_throws(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_void) int tc_cb_void(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_any) int tc_cb_called(struct __sk_buff *ctx) { return cb_any(ctx->len); }
SEC("tc") exception_cb(cb_static) int tc_cb_static(struct __sk_buff *ctx) { return cb_static(ctx->len); }
SEC("tc") exception_cb(cb_calls_thrower) int tc_cb_calls_thrower(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_big_stack) int tc_cb_own_stack(struct __sk_buff *ctx) {
  volatile char buf[400];
  u32 len = ctx->len, mark = ctx->mark;
  buf[len & 255] = 1;
  if (mark) bpf_throw(0);
  return buf[(len >> 8) & 255];
}
SEC("tc") exception_cb(cb_calls_big) int tc_cb_chain_stack(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_missing) int tc_cb_missing(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_any) exception_cb(cb_one) int tc_two_cbs(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_any) int tc_cb_not_linked(struct __sk_buff *ctx) { bpf_throw(0); return 0; }
`;

/**
 * Tail calls under callbacks (the same pass as a throw's): refused even where the walk never reaches them
 * (`z` is 0, hidden from clang); an exception callback's own are not looked at.
 */
export const TAIL_SOURCE = `${PRELUDE}
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, u32); __type(value, u32); } jt SEC(".maps");
static long (*tail_call)(void *ctx, void *map, u32 idx) = (void *)12;
#define HIDDEN_ZERO(z) u64 z = 0; asm volatile("" : "+r"(z))
static __noinline int sub_dead_tail(void *ctx, u64 x) { if (x) tail_call(ctx, &jt, 0); return x & 1; }
static int loop_sub_tail(u32 i, void *c) { HIDDEN_ZERO(z); return sub_dead_tail((void *)0, z); }
SEC("tc") int tc_loop_cb_sub_tail(struct __sk_buff *ctx) { bpf_loop(2, loop_sub_tail, 0, 0); return 0; }
static int loop_own_tail(u32 i, void *c) { HIDDEN_ZERO(z); if (z) tail_call((void *)0, &jt, 0); return 0; }
SEC("tc") int tc_loop_cb_own_tail(struct __sk_buff *ctx) { bpf_loop(2, loop_own_tail, 0, 0); return 0; }
static __noinline int a_tail(struct __sk_buff *ctx) { tail_call(ctx, &jt, 0); return ctx->len & 1; }
static __noinline int b_plain(u64 x) { return x & 1; }
static int loop_plain(u32 i, void *c) { return b_plain(i); }
SEC("tc") int tc_tail_then_loop(struct __sk_buff *ctx) { int r = a_tail(ctx); bpf_loop(2, loop_plain, 0, 0); return r; }
SEC("tc") int tc_main_tail_and_loop(struct __sk_buff *ctx) { tail_call(ctx, &jt, 0); bpf_loop(2, loop_plain, 0, 0); return 0; }
struct elem { struct bpf_timer t; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct elem); } tmap SEC(".maps");
static int timer_sub_tail(void *map, int *key, struct elem *v) { HIDDEN_ZERO(z); return sub_dead_tail((void *)0, z); }
SEC("tc") int tc_timer_sub_tail(struct __sk_buff *ctx) {
  int k = 0;
  struct elem *v = bpf_map_lookup_elem(&tmap, &k);
  if (!v) return 0;
  timer_init(&v->t, &tmap, 1);
  timer_set_callback(&v->t, timer_sub_tail);
  return 0;
}
static int timer_own_tail(void *map, int *key, struct elem *v) { HIDDEN_ZERO(z); if (z) tail_call((void *)0, &jt, 0); return 0; }
SEC("tc") int tc_timer_own_tail(struct __sk_buff *ctx) {
  int k = 0;
  struct elem *v = bpf_map_lookup_elem(&tmap, &k);
  if (!v) return 0;
  timer_init(&v->t, &tmap, 1);
  timer_set_callback(&v->t, timer_own_tail);
  return 0;
}
__noinline int global_tail(struct __sk_buff *ctx) { tail_call(ctx, &jt, 0); return ctx ? 1 : 0; }
static int loop_global_tail(u32 i, void **c) { global_tail(*c); return 0; }
SEC("tc") int tc_loop_cb_global_tail(struct __sk_buff *ctx) { void *p = ctx; bpf_loop(1, loop_global_tail, &p, 0); return 0; }
SEC("tc") int tc_global_tail(struct __sk_buff *ctx) { return global_tail(ctx); }
SEC("tc") __noinline int cb_plain(u64 cookie) { return cookie & 1; }
SEC("tc") __noinline int cb_sub_tail(u64 cookie) { HIDDEN_ZERO(z); return sub_dead_tail((void *)0, z); }
SEC("tc") __noinline int cb_own_tail(u64 cookie) { HIDDEN_ZERO(z); if (z) tail_call((void *)0, &jt, 0); return cookie & 1; }
SEC("tc") exception_cb(cb_plain) int tc_cb_main_tail(struct __sk_buff *ctx) { tail_call(ctx, &jt, 0); if (ctx->len) bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_sub_tail) int tc_cb_sub_tail(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(0); return 0; }
SEC("tc") exception_cb(cb_own_tail) int tc_cb_own_tail(struct __sk_buff *ctx) { if (ctx->len) bpf_throw(0); return 0; }
`;

/** The cases, with Linux 6.18's verdicts. */
export const THROW_CASES: readonly ThrowCase[] = [
  ...(
    [
      ['tc_throw', 'ok'],
      ['tc_dead_after_throw', 'ok'],
      ['xdp_throw', 'ok'],
      ['tp_btf_throw', 'ok'],
      ['connect4_throw_1', 'ok'],
      ['skb_throw_1', 'ok'],
      ['skb_throw_5', /^At program exit the register R1 has smin=5 smax=5 should have been in \[0, 1\]$/],
      ['skb_throw_mark', /^At program exit the register R1 has smin=0 smax=4294967295 should have been in \[0, 1\]$/],
      ['sock_create_throw_2', /^At program exit the register R1 has smin=2 smax=2 should have been in \[0, 1\]$/],
      ['skb_static_throw_5', /^At program exit the register R1 has smin=5 smax=5 should have been in \[0, 1\]$/],
      // A global function's throw is checked as its own exit: any scalar.
      ['skb_global_throw_5', 'ok'],
      ['syscall_throw', 'ok'],
      ['socket_throw', /^calling kernel function bpf_throw is not allowed$/],
      ['kprobe_throw', /^calling kernel function bpf_throw is not allowed$/],
      ['sk_lookup_throw', /^calling kernel function bpf_throw is not allowed$/],
      ['tc_pointer_cookie', /^R1 is not a scalar$/],
      ['tc_preempt_throw', /^bpf_throw cannot be used inside bpf_preempt_disable-ed region$/],
      ['tc_rcu_preempt_throw', /^bpf_throw cannot be used inside bpf_rcu_read_lock-ed region$/],
      ['tc_ref_in_rcu_throw', /^bpf_throw would lead to reference leak$/],
      ['skb_ref_then_cookie_5', /^At program exit the register R1 has smin=5 smax=5 should have been in \[0, 1\]$/],
      ['tc_socket_ref_throw', /^bpf_throw would lead to reference leak$/],
      ['tc_global_ref_throw', /^bpf_throw would lead to reference leak$/],
      // An open-coded iterator and a ring buffer dynptr are references too.
      ['tc_iter_throw', /^bpf_throw would lead to reference leak$/],
      ['tc_dynptr_throw', /^bpf_throw would lead to reference leak$/],
      ['tc_loop_cb_throw', /^bpf_throw kfunc \(insn \d+\) cannot be called from callback subprog 1$/],
      ['tc_throw_after_loop', 'ok'],
      ['tc_loop_cb_global_throw', /^bpf_throw kfunc \(insn \d+\) cannot be called from callback subprog 2$/],
      ['tc_loop_cb_ref_throw', /^bpf_throw would lead to reference leak$/],
      ['tc_timer_throw_1', /^At async callback return the register R1 has smin=1 smax=1 should have been in \[0, 0\]$/],
      ['tc_timer_throw_0', /^bpf_throw kfunc \(insn \d+\) cannot be called from callback subprog 1$/],
    ] as const
  ).map(([prog, want]): ThrowCase => ({ prog, source: THROW_SOURCE, want })),
  ...(
    [
      ['tc_with_cb', 'ok'],
      ['tc_with_cb_no_throw', 'ok'],
      // With a callback the cookie is not the program's value: the callback's return is.
      ['skb_cb_one_throw_5', 'ok'],
      ['skb_cb_five', /^At program exit the register R0 has smin=5 smax=5 should have been in \[0, 1\]$/],
      ['skb_cb_any', /^At program exit the register R0 has unknown scalar value should have been in \[0, 1\]$/],
      ['tc_cb_small', 'ok'],
      ['tc_cb_two_args', /^exception cb only supports single integer argument$/],
      ['tc_cb_no_arg', /^exception cb only supports single integer argument$/],
      ['tc_cb_ctx', /^exception cb only supports single integer argument$/],
      ['tc_cb_throws', /^bpf_throw kfunc \(insn \d+\) cannot be called from callback subprog 1$/],
      ['tc_cb_void', /^Global function cb_void\(\) doesn't return scalar\. Only those are supported\.$/],
      ['tc_cb_calls_thrower', /^bpf_throw kfunc \(insn \d+\) cannot be called from callback subprog 2$/],
      // The callback's stack is a chain of its own: 400 bytes there and 400 in the program load.
      ['tc_cb_own_stack', 'ok'],
      // ...but the chain from it adds up: 300 in it, 256 in the function it calls.
      ['tc_cb_chain_stack', /^combined stack size of 2 calls is \d+\. Too large$/],
      ['tc_cb_called', /^insn \d+ cannot call exception cb directly/],
      ['tc_cb_static', /^exception callback 'cb_static' must have global linkage$/],
      ['tc_cb_missing', /^exception callback 'cb_missing' could not be found in BTF$/],
      ['tc_two_cbs', /^multiple exception callback tags for main subprog$/],
      ['tc_cb_not_linked', /^exception callback type id not found in func_info$/],
    ] as const
  ).map(([prog, want]): ThrowCase => ({ prog, source: EXCEPTION_CB_SOURCE, want })),
  ...(
    [
      ['tc_loop_cb_sub_tail', /^cannot tail call within callback$/],
      ['tc_loop_cb_own_tail', /^cannot tail call within callback$/],
      // Not a sticky mark: a tail call met before the callback is nothing to it.
      ['tc_tail_then_loop', 'ok'],
      ['tc_main_tail_and_loop', 'ok'],
      // A global function's tail call, walked and fine on its own, called from a callback.
      ['tc_loop_cb_global_tail', /^cannot tail call within callback$/],
      ['tc_global_tail', 'ok'],
      ['tc_timer_sub_tail', /^cannot tail call within callback$/],
      ['tc_timer_own_tail', /^verifier bug: subprog has tail_call and async cb$/],
      ['tc_cb_main_tail', 'ok'],
      ['tc_cb_sub_tail', /^cannot tail call within callback$/],
      ['tc_cb_own_tail', 'ok'],
    ] as const
  ).map(([prog, want]): ThrowCase => ({ prog, source: TAIL_SOURCE, want })),
];

/** Programs given their exception callback as libbpf would; the others (the refusals of the tag) as bpfkit links them. */
const LINKED: ReadonlySet<string> = new Set(
  THROW_CASES.filter(
    (c) => c.source !== THROW_SOURCE && !/cb_missing|two_cbs|not_linked|cb_static|cb_called/.test(c.prog),
  ).map((c) => c.prog),
);

/**
 * The object with program `prog` linked as libbpf links it: its exception callback (the program named by
 * its `exception_callback:` tag, here a function of a section of its own) appended after its code, with
 * the callback's func_info, line_info and relocations moved along.
 */
export function withExceptionCallback(spec: ObjectSpec, prog: string, cb: string): ObjectSpec {
  const main = spec.programs.find((p) => p.name === prog)!;
  const sub = spec.programs.find((p) => p.name === cb)!;
  const last = main.insns[main.insns.length - 1]!;
  const base = last.pc + (last.code === 0x18 ? 2 : 1);
  const at = <T extends { pc: number }>(xs: readonly T[] | undefined): T[] =>
    (xs ?? []).map((x) => ({ ...x, pc: x.pc + base }));
  const linked: ProgramSpec = {
    ...main,
    insns: [...main.insns, ...at(sub.insns)],
    mapRefs: [...main.mapRefs, ...at(sub.mapRefs)],
    funcInfo: [...(main.funcInfo ?? []), ...at(sub.funcInfo)],
    lineInfo: [...(main.lineInfo ?? []), ...at(sub.lineInfo)],
  };
  const externs = [...(main.externRefs ?? []), ...at(sub.externRefs)];
  if (externs.length) linked.externRefs = externs;
  return { ...spec, programs: spec.programs.map((p) => (p === main ? linked : p)) };
}

/** The callback a case's program should be given (libbpf's linking), if any. */
export function caseCallback(c: ThrowCase): string | undefined {
  if (!LINKED.has(c.prog)) return undefined;
  return /exception_cb\((\w+)\) int (\w+)\(/g.exec(
    c.source.split('\n').find((l) => l.includes(` int ${c.prog}(`)) ?? '',
  )?.[1];
}
