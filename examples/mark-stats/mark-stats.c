/*
 * mark-stats: the tc(8) classifier of tc-bpf(8). Packets marked in [0, 255] (e.g. by a container's
 * egress path) are counted per mark, packets and bytes, in an array map declared the iproute2 way
 * (section "maps", struct bpf_elf_map, pinned in the global namespace), and classified into class
 * root:mark — TC_H_MAKE(TC_H_ROOT, mark). Marks out of range do not match (0).
 */
#include "../include/bpf-prog.h"
#include <linux/pkt_sched.h>

struct tuple {
	long packets;
	long bytes;
};

#define BPF_MAP_ID_STATS 1
#define BPF_MAX_MARK 256

struct bpf_elf_map SEC("maps") map_stats = {
	.type = BPF_MAP_TYPE_ARRAY,
	.id = BPF_MAP_ID_STATS,
	.size_key = sizeof(__u32),
	.size_value = sizeof(struct tuple),
	.max_elem = BPF_MAX_MARK,
	.pinning = PIN_GLOBAL_NS,
};

static __always_inline void cls_update_stats(const struct __sk_buff *skb, __u32 mark)
{
	struct tuple *tu = bpf_map_lookup_elem(&map_stats, &mark);

	if (likely(tu)) {
		__sync_fetch_and_add(&tu->packets, 1);
		__sync_fetch_and_add(&tu->bytes, skb->len);
	}
}

SEC("classifier")
int cls_main(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;

	if (unlikely(mark >= BPF_MAX_MARK))
		return 0;
	cls_update_stats(skb, mark);
	return TC_H_MAKE(TC_H_ROOT, mark);
}

char __license[] SEC("license") = "GPL";
