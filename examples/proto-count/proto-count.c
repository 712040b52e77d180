/*
 * proto-count: a socket filter counting packets and bytes per IP protocol (the classic "sockex1").
 * The protocol byte is read with an LD_ABS load (load_byte) at ETH_HLEN + 9: the program expects the
 * raw-socket view, where skb->data is the Ethernet header. Counters are bumped with atomic adds in an
 * array map indexed by the protocol number. It returns 0: the socket receives nothing, only the map counts.
 */
#include "../include/bpf-prog.h"
#include <linux/if_ether.h>
#include <linux/ip.h>

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct counters);
} proto_stats SEC(".maps");

SEC("socket")
int count_protocols(struct __sk_buff *skb)
{
	__u32 proto;
	struct counters *c;

	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return 0;
	proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	c = bpf_map_lookup_elem(&proto_stats, &proto);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, skb->len);
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
