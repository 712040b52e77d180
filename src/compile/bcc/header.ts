/**
 * bcc/bcc.h, written for bpfkit: BCC's table macros as libbpf-style BTF map definitions, BCC's table
 * methods (which the rewriter turns `NAME.method(...)` into) with BCC's meaning, TRACEPOINT_PROBE and
 * RAW_TRACEPOINT_PROBE, bpf_trace_printk with a format string, the LD_ABS packet loads, and stubs for the
 * kernel headers BCC programs include (there are none here: each includes the generated vmlinux.h and
 * adds the #define constants BTF cannot carry).
 */

import { KERNEL_MACROS_HEADER } from '../vmlinux-header.js';

/** The text of bcc/bcc.h (included first, after vmlinux.h, by compileC's BCC dialect). */
export function bccHeader(): string {
  return `/* bcc/bcc.h — written for bpfkit (MIT): BCC's C dialect on libbpf-style maps. */
#ifndef __BPFKIT_BCC_H
#define __BPFKIT_BCC_H
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef __VMLINUX_H__
typedef __s8 s8;
typedef __s16 s16;
/* Map types bpf_helpers.h leaves out (vmlinux.h, when included, has them all). */
#define BPF_MAP_TYPE_STACK_TRACE 7
#define BPF_MAP_TYPE_LRU_PERCPU_HASH 10
#define BPF_MAP_TYPE_DEVMAP 14
#define BPF_MAP_TYPE_CPUMAP 16
#define BPF_MAP_TYPE_QUEUE 22
#define BPF_MAP_TYPE_STACK 23
#endif

/* Constants BCC programs take from kernel headers (macros: not in BTF). Those that size an array BTF
   describes come with vmlinux.h, at the running kernel's values. */
#if __has_include(<${KERNEL_MACROS_HEADER}>)
#include <${KERNEL_MACROS_HEADER}>
#endif
#ifndef ETH_HLEN
#define ETH_HLEN 14
#endif
#ifndef ETH_ALEN
#define ETH_ALEN 6
#endif
#ifndef ETH_P_IP
#define ETH_P_ALL 0x0003
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021AD 0x88A8
#endif
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#ifndef TC_ACT_OK
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_RECLASSIFY 1
#define TC_ACT_SHOT 2
#define TC_ACT_PIPE 3
#define TC_ACT_STOLEN 4
#define TC_ACT_REDIRECT 7
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef PATH_MAX
#define NAME_MAX 255
#define PATH_MAX 4096
#endif
/* sparse's address-space markers, which BTF does not carry: kernel sources and BCC programs use them */
#ifndef __user
#define __user
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096
#endif
#define BPF_MAX_STACK_DEPTH 127
#ifndef htons
#define htons(x) bpf_htons(x)
#define ntohs(x) bpf_ntohs(x)
#define htonl(x) bpf_htonl(x)
#define ntohl(x) bpf_ntohl(x)
#endif

/* linux/version.h's macro (LINUX_VERSION_CODE, the running kernel's, comes with the prelude) */
#ifndef KERNEL_VERSION
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#endif

/* pt_regs argument registers (arch from the host bpfkit runs on). */
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM1(x) ((x)->di)
#define PT_REGS_PARM2(x) ((x)->si)
#define PT_REGS_PARM3(x) ((x)->dx)
#define PT_REGS_PARM4(x) ((x)->cx)
#define PT_REGS_PARM5(x) ((x)->r8)
#define PT_REGS_PARM6(x) ((x)->r9)
#define PT_REGS_RC(x) ((x)->ax)
#define PT_REGS_IP(x) ((x)->ip)
#define PT_REGS_SP(x) ((x)->sp)
#define PT_REGS_FP(x) ((x)->bp)
/* a syscall's arguments in the user registers its wrapper saved (the 4th is r10: the syscall ABI) */
#define __BCC_SYSCALL_PARM1(x) ((x)->di)
#define __BCC_SYSCALL_PARM2(x) ((x)->si)
#define __BCC_SYSCALL_PARM3(x) ((x)->dx)
#define __BCC_SYSCALL_PARM4(x) ((x)->r10)
#define __BCC_SYSCALL_PARM5(x) ((x)->r8)
#define __BCC_SYSCALL_PARM6(x) ((x)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM1(x) ((x)->regs[0])
#define PT_REGS_PARM2(x) ((x)->regs[1])
#define PT_REGS_PARM3(x) ((x)->regs[2])
#define PT_REGS_PARM4(x) ((x)->regs[3])
#define PT_REGS_PARM5(x) ((x)->regs[4])
#define PT_REGS_PARM6(x) ((x)->regs[5])
#define PT_REGS_RC(x) ((x)->regs[0])
#define PT_REGS_IP(x) ((x)->pc)
#define PT_REGS_SP(x) ((x)->sp)
#define PT_REGS_FP(x) ((x)->regs[29])
#define __BCC_SYSCALL_PARM1(x) ((x)->regs[0])
#define __BCC_SYSCALL_PARM2(x) ((x)->regs[1])
#define __BCC_SYSCALL_PARM3(x) ((x)->regs[2])
#define __BCC_SYSCALL_PARM4(x) ((x)->regs[3])
#define __BCC_SYSCALL_PARM5(x) ((x)->regs[4])
#define __BCC_SYSCALL_PARM6(x) ((x)->regs[5])
#endif

/* LD_ABS packet loads (socket filters, tc): network byte order in, host order out, as in BCC. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

/* BCC's histogram slots: bpf_log2(v) = floor(log2 v) (0 for 0); bpf_log2l(v) = floor(log2 v) + 1 (1 for 0). */
static __always_inline unsigned int bpf_log2(unsigned int v) {
  unsigned int r = 0;
  /* a binary search for the highest set bit */
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) r += 1;
  return r;
}
static __always_inline unsigned int bpf_log2l(unsigned long v) {
  unsigned int hi = v >> 32;
  return hi ? bpf_log2(hi) + 33 : bpf_log2((unsigned int)v) + 1;
}

/* bpf_trace_printk("fmt", args...): the format string on the stack, as BCC's rewriter does. */
#define bpf_trace_printk(fmt, ...)                                   \\
  ({                                                                 \\
    char ____fmt[] = fmt;                                            \\
    bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);       \\
  })

/* ---- Tables ------------------------------------------------------------------------------------ */

/* A map with BTF key and value types (methods give typed results through them). */
#define __bcc_typed(_type, _k, _v, _name, _max, _flags)                                          \\
  struct {                                                                                      \\
    __uint(type, _type);                                                                        \\
    __type(key, _k);                                                                            \\
    __type(value, _v);                                                                          \\
    __uint(max_entries, _max);                                                                  \\
    __uint(map_flags, _flags);                                                                  \\
  } _name SEC(".maps")
/* A map the kernel refuses BTF types for (fd arrays, stack traces): sizes only. */
#define __bcc_sized(_type, _k, _v, _name, _max, _flags)                                          \\
  struct {                                                                                      \\
    __uint(type, _type);                                                                        \\
    __uint(key_size, sizeof(_k));                                                               \\
    __uint(value_size, sizeof(_v));                                                             \\
    __uint(max_entries, _max);                                                                  \\
    __uint(map_flags, _flags);                                                                  \\
  } _name SEC(".maps")

/* BPF_TABLE("type", ...): the rewriter turns "type" into __bcc_type, dispatched here. */
#define BPF_F_TABLE(_t, _k, _v, _name, _max, _flags) _t##_table(_k, _v, _name, _max, _flags)
#define BPF_TABLE(_t, _k, _v, _name, _max) BPF_F_TABLE(_t, _k, _v, _name, _max, 0)
#define __bcc_hash_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_HASH, k, v, n, m, f)
#define __bcc_array_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_ARRAY, k, v, n, m, f)
#define __bcc_percpu_hash_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_PERCPU_HASH, k, v, n, m, f)
#define __bcc_percpu_array_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_PERCPU_ARRAY, k, v, n, m, f)
#define __bcc_lru_hash_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_LRU_HASH, k, v, n, m, f)
#define __bcc_lru_percpu_hash_table(k, v, n, m, f) __bcc_typed(BPF_MAP_TYPE_LRU_PERCPU_HASH, k, v, n, m, f)
/* BCC: a histogram is an array when its key is int, a hash otherwise; its leaf must be u64. */
#define __bcc_histogram_table(k, v, n, m, f)                                                     \\
  _Static_assert(__builtin_types_compatible_p(v, unsigned long long), "histogram leaf type must be u64"); \\
  __bcc_typed(__builtin_types_compatible_p(k, int) ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH, k, v, n, m, f)
#define __bcc_prog_table(k, v, n, m, f) __bcc_sized(BPF_MAP_TYPE_PROG_ARRAY, k, v, n, m, f)
/* BCC sizes a perf output table to the CPUs; max_entries 0 makes the loader do the same. */
#define __bcc_perf_output_table(k, v, n, m, f) __bcc_sized(BPF_MAP_TYPE_PERF_EVENT_ARRAY, k, v, n, 0, f)
#define __bcc_stacktrace_table(k, v, n, m, f) __bcc_sized(BPF_MAP_TYPE_STACK_TRACE, k, v, n, m, f)
#define __bcc_devmap_table(k, v, n, m, f) __bcc_sized(BPF_MAP_TYPE_DEVMAP, k, v, n, m, f)
#define __bcc_cpumap_table(k, v, n, m, f) __bcc_sized(BPF_MAP_TYPE_CPUMAP, k, v, n, m, f)

/* Optional arguments, as BCC's macros take them: pick the form by argument count. */
#define __bcc_pick4(_1, _2, _3, _4, N, ...) N
#define __bcc_pick3(_1, _2, _3, N, ...) N
#define __bcc_pick2(_1, _2, N, ...) N

/* BPF_HASH(name [, key = u64 [, leaf = u64 [, size = 10240]]]) */
#define BPF_HASH(...) __bcc_pick4(__VA_ARGS__, __bcc_hash4, __bcc_hash3, __bcc_hash2, __bcc_hash1, ~)(__VA_ARGS__)
#define __bcc_hash1(n) __bcc_hash4(n, u64, u64, 10240)
#define __bcc_hash2(n, k) __bcc_hash4(n, k, u64, 10240)
#define __bcc_hash3(n, k, v) __bcc_hash4(n, k, v, 10240)
#define __bcc_hash4(n, k, v, m) BPF_TABLE(__bcc_hash, k, v, n, m)
/* BPF_PERCPU_HASH and BPF_LRU_HASH: BPF_HASH's defaults. */
#define BPF_PERCPU_HASH(...) __bcc_pick4(__VA_ARGS__, __bcc_pchash4, __bcc_pchash3, __bcc_pchash2, __bcc_pchash1, ~)(__VA_ARGS__)
#define __bcc_pchash1(n) __bcc_pchash4(n, u64, u64, 10240)
#define __bcc_pchash2(n, k) __bcc_pchash4(n, k, u64, 10240)
#define __bcc_pchash3(n, k, v) __bcc_pchash4(n, k, v, 10240)
#define __bcc_pchash4(n, k, v, m) BPF_TABLE(__bcc_percpu_hash, k, v, n, m)
#define BPF_LRU_HASH(...) __bcc_pick4(__VA_ARGS__, __bcc_lruhash4, __bcc_lruhash3, __bcc_lruhash2, __bcc_lruhash1, ~)(__VA_ARGS__)
#define __bcc_lruhash1(n) __bcc_lruhash4(n, u64, u64, 10240)
#define __bcc_lruhash2(n, k) __bcc_lruhash4(n, k, u64, 10240)
#define __bcc_lruhash3(n, k, v) __bcc_lruhash4(n, k, v, 10240)
#define __bcc_lruhash4(n, k, v, m) BPF_TABLE(__bcc_lru_hash, k, v, n, m)
/* BPF_ARRAY(name [, leaf = u64 [, size = 10240]]), key int */
#define BPF_ARRAY(...) __bcc_pick3(__VA_ARGS__, __bcc_array3, __bcc_array2, __bcc_array1, ~)(__VA_ARGS__)
#define __bcc_array1(n) __bcc_array3(n, u64, 10240)
#define __bcc_array2(n, v) __bcc_array3(n, v, 10240)
#define __bcc_array3(n, v, m) BPF_TABLE(__bcc_array, int, v, n, m)
#define BPF_PERCPU_ARRAY(...) __bcc_pick3(__VA_ARGS__, __bcc_pcarray3, __bcc_pcarray2, __bcc_pcarray1, ~)(__VA_ARGS__)
#define __bcc_pcarray1(n) __bcc_pcarray3(n, u64, 10240)
#define __bcc_pcarray2(n, v) __bcc_pcarray3(n, v, 10240)
#define __bcc_pcarray3(n, v, m) BPF_TABLE(__bcc_percpu_array, int, v, n, m)
/* BPF_HISTOGRAM(name [, key = int [, size = 64]]), leaf u64 */
#define BPF_HISTOGRAM(...) __bcc_pick3(__VA_ARGS__, __bcc_hist3, __bcc_hist2, __bcc_hist1, ~)(__VA_ARGS__)
#define __bcc_hist1(n) __bcc_hist3(n, int, 64)
#define __bcc_hist2(n, k) __bcc_hist3(n, k, 64)
#define __bcc_hist3(n, k, m) BPF_TABLE(__bcc_histogram, k, u64, n, m)
#define BPF_PERF_OUTPUT(n) BPF_TABLE(__bcc_perf_output, int, u32, n, 0)
#define BPF_PROG_ARRAY(n, m) BPF_TABLE(__bcc_prog, u32, u32, n, m)
#define BPF_DEVMAP(n, m) BPF_TABLE(__bcc_devmap, int, int, n, m)
#define BPF_CPUMAP(n, m) BPF_TABLE(__bcc_cpumap, u32, u32, n, m)
struct bpf_stacktrace {
  u64 ip[BPF_MAX_STACK_DEPTH];
};
#define BPF_STACK_TRACE(n, m) BPF_TABLE(__bcc_stacktrace, int, struct bpf_stacktrace, n, m)
/* BPF_RINGBUF_OUTPUT(name, pages): pages of PAGE_SIZE bytes. */
#define BPF_RINGBUF_OUTPUT(n, pages)                                                             \\
  struct {                                                                                      \\
    __uint(type, BPF_MAP_TYPE_RINGBUF);                                                         \\
    __uint(max_entries, (pages) * PAGE_SIZE);                                                   \\
  } n SEC(".maps")
/* BPF_QUEUE / BPF_STACK(name, leaf, size [, flags]): no key. */
#define __bcc_queuestack(_type, _n, _v, _m, _f)                                                  \\
  struct {                                                                                      \\
    __uint(type, _type);                                                                        \\
    __type(value, _v);                                                                          \\
    __uint(max_entries, _m);                                                                    \\
    __uint(map_flags, _f);                                                                      \\
  } _n SEC(".maps")
#define BPF_QUEUE(...) __bcc_pick4(__VA_ARGS__, __bcc_queue4, __bcc_queue3, ~, ~, ~)(__VA_ARGS__)
#define __bcc_queue3(n, v, m) __bcc_queuestack(BPF_MAP_TYPE_QUEUE, n, v, m, 0)
#define __bcc_queue4(n, v, m, f) __bcc_queuestack(BPF_MAP_TYPE_QUEUE, n, v, m, f)
#define BPF_STACK(...) __bcc_pick4(__VA_ARGS__, __bcc_stack4, __bcc_stack3, ~, ~, ~)(__VA_ARGS__)
#define __bcc_stack3(n, v, m) __bcc_queuestack(BPF_MAP_TYPE_STACK, n, v, m, 0)
#define __bcc_stack4(n, v, m, f) __bcc_queuestack(BPF_MAP_TYPE_STACK, n, v, m, f)

/* ---- Table methods: NAME.method(args) is __bcc_method(NAME, args) --------------------------------- */

/* The map type a libbpf-style definition declares, as a constant. */
#define __bcc_map_type(m) (sizeof(*(m).type) / sizeof(int))
#define __bcc_leaf_t(m) typeof(*(m).value)
#define __bcc_key_t(m) typeof(*(m).key)

#define __bcc_lookup(m, k) ((__bcc_leaf_t(m) *)bpf_map_lookup_elem(&(m), (k)))
#define __bcc_update(m, k, v) bpf_map_update_elem(&(m), (k), (v), BPF_ANY)
#define __bcc_insert(m, k, v) bpf_map_update_elem(&(m), (k), (v), BPF_NOEXIST)
#define __bcc_delete(m, k) bpf_map_delete_elem(&(m), (k))
/* The existing leaf, else insert init (BPF_NOEXIST: never overwrites) and look up again; NULL if that fails. */
#define __bcc_lookup_or_try_init(m, k, init)                                                     \\
  ({                                                                                            \\
    __bcc_leaf_t(m) *__leaf = bpf_map_lookup_elem(&(m), (k));                                   \\
    if (!__leaf) {                                                                              \\
      bpf_map_update_elem(&(m), (k), (init), BPF_NOEXIST);                                      \\
      __leaf = bpf_map_lookup_elem(&(m), (k));                                                  \\
    }                                                                                           \\
    __leaf;                                                                                     \\
  })
/* BCC's older form: as lookup_or_try_init, but when the second lookup fails it returns 0 from the program. */
#define __bcc_lookup_or_init(m, k, init)                                                         \\
  ({                                                                                            \\
    __bcc_leaf_t(m) *__leaf = bpf_map_lookup_elem(&(m), (k));                                   \\
    if (!__leaf) {                                                                              \\
      bpf_map_update_elem(&(m), (k), (init), BPF_NOEXIST);                                      \\
      __leaf = bpf_map_lookup_elem(&(m), (k));                                                  \\
      if (!__leaf) return 0;                                                                    \\
    }                                                                                           \\
    __leaf;                                                                                     \\
  })
/*
 * increment(key [, n = 1]): key by value. An existing leaf gets += n (not atomic; atomic_increment is);
 * a missing key is inserted with leaf n (zeroed, then += n) only in a BPF_MAP_TYPE_HASH table, as in BCC.
 */
#define __bcc_increment(m, ...) __bcc_pick2(__VA_ARGS__, __bcc_incr2, __bcc_incr1, ~)(m, 0, __VA_ARGS__)
#define __bcc_atomic_increment(m, ...) __bcc_pick2(__VA_ARGS__, __bcc_incr2, __bcc_incr1, ~)(m, 1, __VA_ARGS__)
#define __bcc_incr1(m, atomic, _k) __bcc_incr2(m, atomic, _k, 1)
#define __bcc_incr2(m, atomic, _k, _n)                                                           \\
  ({                                                                                            \\
    __bcc_key_t(m) __key = (_k);                                                                \\
    __bcc_leaf_t(m) *__leaf = bpf_map_lookup_elem(&(m), &__key);                                \\
    if (__leaf) {                                                                               \\
      if (atomic)                                                                               \\
        __sync_fetch_and_add(__leaf, (_n));                                                     \\
      else                                                                                      \\
        (*__leaf) += (_n);                                                                      \\
    } else if (__bcc_map_type(m) == BPF_MAP_TYPE_HASH) {                                        \\
      __bcc_leaf_t(m) __zleaf;                                                                  \\
      __builtin_memset(&__zleaf, 0, sizeof(__zleaf));                                           \\
      __zleaf += (_n);                                                                          \\
      bpf_map_update_elem(&(m), &__key, &__zleaf, BPF_NOEXIST);                                 \\
    }                                                                                           \\
  })
#define __bcc_perf_submit(m, ctx, data, size) bpf_perf_event_output((ctx), &(m), BPF_F_CURRENT_CPU, (data), (size))
#define __bcc_perf_submit_skb(m, skb, skb_len, meta, meta_len)                                   \\
  bpf_perf_event_output((skb), &(m), ((__u64)(skb_len) << 32) | BPF_F_CURRENT_CPU, (meta), (meta_len))
#define __bcc_ringbuf_output(m, data, size, flags) bpf_ringbuf_output(&(m), (data), (size), (flags))
#define __bcc_ringbuf_reserve(m, size) bpf_ringbuf_reserve(&(m), (size), 0)
#define __bcc_ringbuf_submit(m, data, flags) bpf_ringbuf_submit((data), (flags))
#define __bcc_ringbuf_discard(m, data, flags) bpf_ringbuf_discard((data), (flags))
#define __bcc_call(m, ctx, index) bpf_tail_call((ctx), &(m), (index))
#define __bcc_push(m, v, flags) bpf_map_push_elem(&(m), (v), (flags))
#define __bcc_pop(m, v) bpf_map_pop_elem(&(m), (v))
#define __bcc_peek(m, v) bpf_map_peek_elem(&(m), (v))
#define __bcc_redirect_map(m, index, flags) bpf_redirect_map(&(m), (index), (flags))
#define __bcc_get_stackid(m, ctx, flags)                                                         \\
  ({                                                                                            \\
    _Static_assert(__bcc_map_type(m) == BPF_MAP_TYPE_STACK_TRACE, "get_stackid only available on stacktrace maps"); \\
    bpf_get_stackid((ctx), &(m), (flags));                                                      \\
  })

/* ---- Probes ------------------------------------------------------------------------------------ */

/* TRACEPOINT_PROBE(category, event) { ... args->field ... }: struct tracepoint__C__E is written by bpfkit from tracefs. */
#define TRACEPOINT_PROBE(category, event)                                                        \\
  __attribute__((section("tracepoint/" #category "/" #event), used))                            \\
  int tracepoint__##category##__##event(struct tracepoint__##category##__##event *args)
/* A __data_loc field (BCC's data_loc_NAME): TP_DATA_LOC_READ(dst, NAME) copies its length, _CONST a given length. */
#define TP_DATA_LOC_READ_CONST(_dst, _arg, _length)                                              \
  do {                                                                                          \
    unsigned short __offset = args->data_loc_##_arg & 0xFFFF;                                   \
    bpf_probe_read_kernel((void *)(_dst), (_length), (char *)args + __offset);                  \
  } while (0)
#define TP_DATA_LOC_READ(_dst, _arg)                                                             \
  do {                                                                                          \
    unsigned short __offset = args->data_loc_##_arg & 0xFFFF;                                   \
    unsigned short __length = args->data_loc_##_arg >> 16;                                      \
    bpf_probe_read_kernel((void *)(_dst), __length, (char *)args + __offset);                   \
  } while (0)
/* RAW_TRACEPOINT_PROBE(event) { ... ctx->args[i] ... } */
#define RAW_TRACEPOINT_PROBE(event)                                                              \\
  __attribute__((section("raw_tp/" #event), used))                                              \\
  int raw_tracepoint__##event(struct bpf_raw_tracepoint_args *ctx)

#endif
`;
}

/** Kernel headers BCC programs include, each a stub: the generated vmlinux.h has the types. */
export const BCC_KERNEL_HEADERS = [
  'uapi/linux/ptrace.h',
  'linux/ptrace.h',
  'linux/sched.h',
  'linux/fs.h',
  'linux/bpf.h',
  'uapi/linux/bpf.h',
  'linux/types.h',
  'linux/socket.h',
  'linux/skbuff.h',
  'linux/netdevice.h',
  'linux/ip.h',
  'linux/ipv6.h',
  'linux/tcp.h',
  'linux/udp.h',
  'linux/icmp.h',
  'linux/in.h',
  'linux/in6.h',
  'linux/if_ether.h',
  'linux/if_packet.h',
  'linux/pkt_cls.h',
  'linux/blkdev.h',
  'linux/version.h',
  'net/sock.h',
  'net/inet_sock.h',
  'net/tcp_states.h',
  'linux/kernel.h',
  'linux/nsproxy.h',
  'linux/pid_namespace.h',
  'linux/mm_types.h',
  'linux/fdtable.h',
  'linux/dcache.h',
  'linux/mount.h',
  'linux/time.h',
  'linux/limits.h',
  'uapi/linux/limits.h',
  'net/net_namespace.h',
  'bcc/proto.h',
  'bcc/helpers.h',
];

/** True when `text` includes one of the kernel headers bcc mode stubs. */
export function includesKernelHeader(text: string): boolean {
  const re = /^[ \t]*#[ \t]*include[ \t]*[<"]([^>"]+)[>"]/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) if (BCC_KERNEL_HEADERS.includes(m[1]!)) return true;
  return false;
}

/** bcc.h and the kernel-header stubs, by include name. */
export function bccHeaders(): Record<string, string> {
  const out: Record<string, string> = {
    'bcc/bcc.h': bccHeader(),
    // Any other kernel header a BCC program includes (the rewrite points it here).
    'bcc/kernel.h': `/* bcc/kernel.h — bpfkit stub for a kernel header: its types come from vmlinux.h. */\n#include <vmlinux.h>\n#include <bcc/bcc.h>\n`,
  };
  for (const name of BCC_KERNEL_HEADERS) {
    if (name === 'bcc/proto.h') {
      // BCC's proto.h declares packet-header structs only its AST rewrite can read (cursor_advance): the
      // rewriter refuses those; what remains useful is the constants.
      out[name] =
        `/* ${name} — bpfkit stub: BCC's packet-header structs need its AST rewrite (not supported). */\n#include <vmlinux.h>\n#include <bcc/bcc.h>\n`;
      continue;
    }
    out[name] =
      `/* ${name} — bpfkit stub: the kernel's types come from vmlinux.h (its BTF). */\n#include <vmlinux.h>\n#include <bcc/bcc.h>\n`;
  }
  return out;
}
