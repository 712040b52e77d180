/* Every map type an object can declare that this kernel creates, with libbpf's defaults and fix-ups. */
#include "corpus.h"
#define MAP(name, t, k, v, n, f) struct { __uint(type, t); __uint(max_entries, n); __uint(key_size, k); __uint(value_size, v); __uint(map_flags, f); } name SEC(".maps")
MAP(hash, 1, 4, 8, 16, 0);
MAP(array, 2, 4, 8, 16, 0);
MAP(percpu_hash, 5, 4, 8, 16, 0);
MAP(percpu_array, 6, 4, 8, 16, 0);
MAP(stack_trace, 7, 4, 64, 16, 0);
MAP(cgroup_array, 8, 4, 4, 4, 0);
MAP(lru_hash, 9, 4, 8, 16, 0);
MAP(lru_percpu_hash, 10, 4, 8, 16, 0);
MAP(lpm_trie, 11, 8, 8, 16, 1);
MAP(devmap, 14, 4, 4, 4, 0);
MAP(sockmap, 15, 4, 4, 4, 0);
MAP(cpumap, 16, 4, 4, 4, 0);
MAP(xskmap, 17, 4, 4, 4, 0);
MAP(sockhash, 18, 4, 4, 4, 0);
MAP(reuseport_array, 20, 4, 4, 4, 0);
MAP(queue, 22, 0, 8, 16, 0);
MAP(stack, 23, 0, 8, 16, 0);
MAP(devmap_hash, 25, 4, 4, 4, 0);
/* max_entries 0: one slot per possible CPU (libbpf) */
struct { __uint(type, 4); __uint(key_size, 4); __uint(value_size, 4); } perf_events SEC(".maps");
/* not a power-of-two number of pages: rounded up (libbpf) */
struct { __uint(type, 27); __uint(max_entries, 5000); } ringbuf SEC(".maps");
struct { __uint(type, 31); __uint(max_entries, 4096); } user_ringbuf SEC(".maps");
struct { __uint(type, 30); __uint(max_entries, 64); __type(value, __u32); __uint(map_extra, 3); } bloom SEC(".maps");
struct { __uint(type, 24); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } sk_storage SEC(".maps");
struct { __uint(type, 28); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } inode_storage SEC(".maps");
struct { __uint(type, 29); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } task_storage SEC(".maps");
struct { __uint(type, 32); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } cgrp_storage SEC(".maps");
struct inner { __uint(type, 2); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } inner_a SEC(".maps"), inner_b SEC(".maps");
struct { __uint(type, 12); __uint(max_entries, 4); __type(key, __u32); __array(values, struct inner); } outer_array SEC(".maps") = { .values = { &inner_a, 0, &inner_b } };
struct { __uint(type, 13); __uint(max_entries, 4); __type(key, __u32); __array(values, struct inner); } outer_hash SEC(".maps");
SEC("socket") int tail(void *ctx) { return 0; }
struct { __uint(type, 3); __uint(max_entries, 2); __type(key, __u32); __array(values, int (void *)); } progs SEC(".maps") = { .values = { [1] = (void *)&tail } };
SEC("socket") int uses_maps(void *ctx) { return 0; }
LICENSE;
