/*
 * bpfkit's minimal header for restricted-C eBPF programs: the few uapi constants, helper prototypes and
 * macros the URL-filter programs use, written here so building needs nothing but clang (no libbpf
 * headers, no multiarch kernel headers). Numbers are the kernel uapi's (include/uapi/linux/bpf.h).
 */
#ifndef BPFKIT_BPF_H
#define BPFKIT_BPF_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

/* Only ever passed to helpers and to the packet-load intrinsics: its layout does not matter here. */
struct __sk_buff;

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* BTF-defined map attributes (what libbpf's bpf_helpers.h calls __uint/__type). */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

/* enum bpf_map_type */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_LRU_HASH 9
/* map update flags */
#define BPF_ANY 0
#define BPF_NOEXIST 1

/* Helpers by number (enum bpf_func_id). */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;

/*
 * The classic packet loads (BPF_LD | BPF_ABS / BPF_IND): read 1, 2 or 4 bytes at an offset from the start
 * of the frame, in network byte order converted to a host number. An offset past the end of the packet
 * ends the program with return value 0 (drop), as in the kernel.
 */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

/* Socket filter verdicts: the number of bytes to keep. */
#define KEEP_PACKET (-1)
#define DROP_PACKET 0

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_TCP 6

#endif
