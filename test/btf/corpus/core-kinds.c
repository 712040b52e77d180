/*
 * Every CO-RE relocation kind against kernel types, each result stored in slot N of the array map `out`,
 * so the VM, the kernel engine and libbpf (bpftool) can be compared slot by slot. Local types are
 * flavoured (`___local`) subsets of the kernel's, as a program built without vmlinux.h declares them.
 */
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int pid_t;

#define SEC(s) __attribute__((section(s), used))
#define CORE __attribute__((preserve_access_index))

struct task_struct___local {
  pid_t pid;
  pid_t tgid;
  char comm[16];
  int no_such_field_in_any_kernel;
} CORE;

struct list_head___local { struct list_head___local *next, *prev; } CORE;

struct sk_buff___local {
  __u32 len;
  __u8 pkt_type : 3;
  __u32 mark;
} CORE;

struct __sk_buff___local { __u32 mark; __u32 cb[5]; } CORE;

struct no_such_type___local { int x; } CORE;

enum bpf_map_type___local { BPF_MAP_TYPE_RINGBUF___local = 1, BPF_MAP_TYPE_NO_SUCH___local = 2 };

struct {
  __u32 (*type)[2];
  __u32 (*max_entries)[32];
  __u32 *key;
  __u64 *value;
} out SEC(".maps");

static void put(__u32 slot, __u64 v) {
  __u64 *p = ((void *(*)(void *, const void *))1)(&out, &slot);
  if (p) *p = v;
}

#define FIELD(kind, expr) __builtin_preserve_field_info(expr, kind)

SEC("tc") int core_kinds(void *ctx) {
  struct task_struct___local *t = 0;
  struct sk_buff___local *s = 0;
  struct __sk_buff___local *k = 0;
  put(0, FIELD(0, t->pid));
  put(1, FIELD(0, t->tgid));
  put(2, FIELD(1, t->comm));
  put(3, FIELD(0, t->comm[3]));
  put(4, FIELD(2, t->pid));
  put(5, FIELD(2, t->no_such_field_in_any_kernel));
  put(6, FIELD(3, t->pid));
  put(7, FIELD(3, s->len));
  put(8, FIELD(0, s->pkt_type));
  put(9, FIELD(1, s->pkt_type));
  put(10, FIELD(4, s->pkt_type));
  put(11, FIELD(5, s->pkt_type));
  put(12, FIELD(0, s->mark));
  put(13, FIELD(0, k->mark));
  put(14, FIELD(0, k->cb[2]));
  put(15, __builtin_preserve_type_info(*(struct task_struct___local *)0, 0));
  put(16, __builtin_preserve_type_info(*(struct no_such_type___local *)0, 0));
  put(17, __builtin_preserve_type_info(*(struct list_head___local *)0, 1));
  put(18, __builtin_preserve_type_info(*(struct no_such_type___local *)0, 1));
  put(19, __builtin_preserve_enum_value(*(enum bpf_map_type___local *)BPF_MAP_TYPE_RINGBUF___local, 0));
  put(20, __builtin_preserve_enum_value(*(enum bpf_map_type___local *)BPF_MAP_TYPE_NO_SUCH___local, 0));
  put(21, __builtin_preserve_enum_value(*(enum bpf_map_type___local *)BPF_MAP_TYPE_RINGBUF___local, 1));
  put(22, __builtin_btf_type_id(*(struct list_head___local *)0, 1));
  put(23, __builtin_btf_type_id(*(struct list_head___local *)0, 0) != 0);
  /* A field no kernel has, read only when it exists: the poisoned load is dead code in both engines. */
  if (FIELD(2, t->no_such_field_in_any_kernel)) put(24, FIELD(0, t->no_such_field_in_any_kernel));
  else put(24, 7);
  return 0;
}

char _license[] SEC("license") = "GPL";
