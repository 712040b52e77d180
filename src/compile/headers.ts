/**
 * The headers bpfkit hands to clang, written in this project: `bpf_helpers.h` (fixed-width types, SEC,
 * the BTF map-definition macros, helper prototypes, license) and `bpf_endian.h`. They are self-contained,
 * so programs build with no kernel or libbpf headers installed. Each helper is declared the way the kernel
 * calls it, a pointer to a function whose address is the helper's number in `enum bpf_func_id`: clang
 * turns a call through such a constant into `call N`. test/compile checks every number against the
 * running kernel's BTF.
 */

/** [name, return type, parameter list, id] for each helper the header declares. */
export const HELPERS: readonly (readonly [string, string, string, number])[] = [
  ['map_lookup_elem', 'void *', 'void *map, const void *key', 1],
  ['map_update_elem', 'long', 'void *map, const void *key, const void *value, __u64 flags', 2],
  ['map_delete_elem', 'long', 'void *map, const void *key', 3],
  ['probe_read', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 4],
  ['ktime_get_ns', '__u64', 'void', 5],
  ['trace_printk', 'long', 'const char *fmt, __u32 fmt_size, ...', 6],
  ['get_prandom_u32', '__u32', 'void', 7],
  ['get_smp_processor_id', '__u32', 'void', 8],
  ['tail_call', 'long', 'void *ctx, void *prog_array_map, __u32 index', 12],
  ['skb_load_bytes', 'long', 'const void *skb, __u32 offset, void *to, __u32 len', 26],
  ['get_current_pid_tgid', '__u64', 'void', 14],
  ['get_current_uid_gid', '__u64', 'void', 15],
  ['get_current_comm', 'long', 'void *buf, __u32 size_of_buf', 16],
  ['perf_event_output', 'long', 'void *ctx, void *map, __u64 flags, void *data, __u64 size', 25],
  ['get_stackid', 'long', 'void *ctx, void *map, __u64 flags', 27],
  ['get_current_task', '__u64', 'void', 35],
  ['redirect_map', 'long', 'void *map, __u64 key, __u64 flags', 51],
  ['map_push_elem', 'long', 'void *map, const void *value, __u64 flags', 87],
  ['map_pop_elem', 'long', 'void *map, void *value', 88],
  ['map_peek_elem', 'long', 'void *map, void *value', 89],
  ['probe_read_str', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 45],
  ['get_socket_cookie', '__u64', 'void *ctx', 46],
  ['probe_read_user', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 112],
  ['probe_read_kernel', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 113],
  ['probe_read_user_str', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 114],
  ['probe_read_kernel_str', 'long', 'void *dst, __u32 size, const void *unsafe_ptr', 115],
  ['ktime_get_boot_ns', '__u64', 'void', 125],
  ['ringbuf_output', 'long', 'void *ringbuf, void *data, __u64 size, __u64 flags', 130],
  ['ringbuf_reserve', 'void *', 'void *ringbuf, __u64 size, __u64 flags', 131],
  ['ringbuf_submit', 'void', 'void *data, __u64 flags', 132],
  ['ringbuf_discard', 'void', 'void *data, __u64 flags', 133],
  ['ringbuf_query', '__u64', 'void *ringbuf, __u64 flags', 134],
  ['get_current_task_btf', 'void *', 'void', 158],
  ['snprintf', 'long', 'char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len', 165],
  ['get_func_ip', '__u64', 'void *ctx', 173],
  ['get_attach_cookie', '__u64', 'void *ctx', 174],
  ['loop', 'long', '__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags', 181],
];

function helperLines(): string {
  return HELPERS.map(([name, ret, params, id]) => `static ${ret} (*bpf_${name})(${params}) = (void *)${id};`).join(
    '\n',
  );
}

/** The text of bpf_helpers.h. */
export function bpfHelpersHeader(): string {
  return `/* bpf_helpers.h — written for bpfkit (MIT). Self-contained: no kernel or libbpf headers needed. */
#ifndef __BPFKIT_BPF_HELPERS_H
#define __BPFKIT_BPF_HELPERS_H

#ifndef __VMLINUX_H__
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#endif

/* Map types and flags a program names (vmlinux.h, included first, brings the kernel's own). */
#ifndef __VMLINUX_H__
enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PROG_ARRAY = 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
  BPF_MAP_TYPE_PERCPU_HASH = 5,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_LRU_HASH = 9,
  BPF_MAP_TYPE_RINGBUF = 27,
};
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2
#define BPF_F_CURRENT_CPU 0xffffffffULL
#endif

/* Section placement, and the BTF-described map definitions libbpf introduced. */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __always_inline inline __attribute__((always_inline))
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#define LICENSE(text) char _license[] SEC("license") = text

/*
 * clang puts in BTF only the types of globals, maps and function signatures, not those of locals: an
 * event struct used only through a local pointer would be missing when bpfkit decodes events.
 * BPF_EVENT_TYPE(event) keeps \`struct event\` in BTF through a pointer in a section no loader maps.
 */
#define BPF_EVENT_TYPE(name) struct name *___bpfkit_type_##name SEC(".bpfkit.types")

#ifndef NULL
#define NULL ((void *)0)
#endif

/* Helpers: a call through each pointer becomes \`call N\`. */
${helperLines()}

/* bpf_printk("fmt", args...): trace_printk with the format kept on the stack. */
#define bpf_printk(fmt, ...)                                          \\
  ({                                                                  \\
    char ____fmt[] = fmt;                                             \\
    bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);        \\
  })

#endif
`;
}

/** The text of bpf_endian.h (clang folds the builtins to constants or byte-swap instructions). */
export function bpfEndianHeader(): string {
  return `/* bpf_endian.h — written for bpfkit (MIT). */
#ifndef __BPFKIT_BPF_ENDIAN_H
#define __BPFKIT_BPF_ENDIAN_H
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define bpf_htons(x) __builtin_bswap16(x)
#define bpf_ntohs(x) __builtin_bswap16(x)
#define bpf_htonl(x) __builtin_bswap32(x)
#define bpf_ntohl(x) __builtin_bswap32(x)
#else
#define bpf_htons(x) (x)
#define bpf_ntohs(x) (x)
#define bpf_htonl(x) (x)
#define bpf_ntohl(x) (x)
#endif
#endif
`;
}

/**
 * The text of bpf_core_read.h: CO-RE questions a program asks of the running kernel's types, answered
 * by the loader's relocations (kinds numbered as in enum bpf_field_info_kind / bpf_type_info_kind).
 */
export function bpfCoreReadHeader(): string {
  return `/* bpf_core_read.h — written for bpfkit (MIT). */
#ifndef __BPFKIT_BPF_CORE_READ_H
#define __BPFKIT_BPF_CORE_READ_H
/* Field questions: its offset and size in the kernel's struct, and whether the kernel has it at all. */
#define bpf_core_field_offset(field) __builtin_preserve_field_info(field, 0)
#define bpf_core_field_size(field) __builtin_preserve_field_info(field, 1)
#define bpf_core_field_exists(field) __builtin_preserve_field_info(field, 2)
/* Type questions: whether the kernel has the type, and its size there. */
#define bpf_core_type_exists(type) __builtin_preserve_type_info(*(typeof(type) *)0, 0)
#define bpf_core_type_size(type) __builtin_preserve_type_info(*(typeof(type) *)0, 1)
/* Read kernel memory at a relocated address: bpf_core_read(&dst, sizeof(dst), &ptr->field). */
#define bpf_core_read(dst, sz, src) \\
  bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))
#endif
`;
}

/**
 * The text of usdt.bpf.h: bpf_usdt_arg(ctx, n, &value) reads argument `n` of the USDT probe that fired.
 * The attach cookie is an index into a spec map bpfkit fills at attach time from the probe's note
 * (register, constant, or memory at register + offset; size and sign), the scheme libbpf's USDT uses.
 */
export function usdtHeader(): string {
  return `/* usdt.bpf.h — written for bpfkit (MIT). */
#ifndef __BPFKIT_USDT_BPF_H
#define __BPFKIT_USDT_BPF_H
#include <bpf/bpf_helpers.h>

#define BPFKIT_USDT_MAX_ARGS 12
#define BPFKIT_USDT_MAX_SPECS 256

/* kind: 0 constant (value), 1 register (reg_off in struct pt_regs), 2 memory at register + value. */
struct bpfkit_usdt_arg {
  __u64 value;
  __u32 kind;
  __u16 reg_off;
  __u8 size;
  __u8 is_signed;
};

struct bpfkit_usdt_spec {
  struct bpfkit_usdt_arg args[BPFKIT_USDT_MAX_ARGS];
  __u32 nargs;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, BPFKIT_USDT_MAX_SPECS);
  __type(key, __u32);
  __type(value, struct bpfkit_usdt_spec);
} bpfkit_usdt_specs SEC(".maps");

static __always_inline struct bpfkit_usdt_spec *bpfkit_usdt_spec(void *ctx) {
  __u32 id = (__u32)bpf_get_attach_cookie(ctx);
  return bpf_map_lookup_elem(&bpfkit_usdt_specs, &id);
}

/* How many arguments the probe that fired has (negative: not attached as a USDT probe). */
static __always_inline long bpf_usdt_arg_cnt(void *ctx) {
  struct bpfkit_usdt_spec *s = bpfkit_usdt_spec(ctx);
  return s ? (long)s->nargs : -3;
}

/* Argument n of the probe that fired, widened to 64 bits by its size and sign; 0 or a negative error. */
static __always_inline long bpf_usdt_arg(void *ctx, __u64 n, long *res) {
  struct bpfkit_usdt_spec *s = bpfkit_usdt_spec(ctx);
  *res = 0;
  if (!s) return -3;
  if (n >= BPFKIT_USDT_MAX_ARGS || n >= s->nargs) return -2;
  struct bpfkit_usdt_arg *a = &s->args[n];
  __u64 v = 0, addr = 0;
  long err;
  if (a->kind == 0) {
    v = a->value;
  } else {
    err = bpf_probe_read_kernel(&v, sizeof(v), (void *)((unsigned long)ctx + a->reg_off));
    if (err) return err;
    if (a->kind == 2) {
      addr = v + a->value;
      v = 0;
      err = bpf_probe_read_user(&v, sizeof(v), (void *)addr);
      if (err) return err;
    }
  }
  /* Keep the argument's own bytes (little-endian: the low ones), then extend its sign. */
  int shift = 64 - (a->size & 0xf) * 8;
  if (shift > 0 && shift < 64) {
    v <<= shift;
    v = a->is_signed ? (__u64)((__s64)v >> shift) : v >> shift;
  }
  *res = (long)v;
  return 0;
}
#endif
`;
}

/** Every shipped header by its include name (both `<bpf_helpers.h>` and libbpf's `<bpf/bpf_helpers.h>` resolve). */
export function shippedHeaders(): Record<string, string> {
  const helpers = bpfHelpersHeader();
  const endian = bpfEndianHeader();
  const core = bpfCoreReadHeader();
  return {
    'bpf_helpers.h': helpers,
    'bpf_endian.h': endian,
    'bpf_core_read.h': core,
    'bpf/bpf_helpers.h': helpers,
    'bpf/bpf_endian.h': endian,
    'bpf/bpf_core_read.h': core,
    'usdt.bpf.h': usdtHeader(),
    'bpf/usdt.bpf.h': usdtHeader(),
  };
}
