/*
 * tunnel-monitor: a tc program that counts tunnelled traffic, built as a pipeline of stages that jump to
 * each other with bpf_tail_call through a program array (initialised in the object with `.values`).
 *
 *   tunnel_entry -> parse_ipv4 / parse_ipv6 -> parse_vxlan (UDP port 4789) / parse_gre (IP protocol 47)
 *
 * Each stage reads headers with bpf_skb_load_bytes and hands the next stage the offset it reached in
 * skb->cb[0] (cb survives tail calls). Counters per kind live in an array map, VXLAN traffic is counted
 * per VNI and GRE traffic per encapsulated EtherType in hash maps. Every packet passes (TC_ACT_OK).
 */
#include "../include/bpf-prog.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <asm/byteorder.h>

enum kind { K_OTHER, K_IPV4, K_IPV6, K_VXLAN, K_GRE, K_IPIP, K_TAILCALL_FAILED, K_MAX };
enum stage { S_IPV4, S_IPV6, S_VXLAN, S_GRE, S_MAX };
#define VXLAN_PORT 4789

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kinds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} vni_packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} gre_protocols SEC(".maps");

static __always_inline void count(__u32 kind)
{
	__u64 *v = bpf_map_lookup_elem(&kinds, &kind);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void count_hash(void *map, __u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}

int parse_ipv4(struct __sk_buff *skb);
int parse_ipv6(struct __sk_buff *skb);
int parse_vxlan(struct __sk_buff *skb);
int parse_gre(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, S_MAX);
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct __sk_buff *));
} stages SEC(".maps") = {
	.values = {
		[S_IPV4] = (void *)&parse_ipv4,
		[S_IPV6] = (void *)&parse_ipv6,
		[S_VXLAN] = (void *)&parse_vxlan,
		[S_GRE] = (void *)&parse_gre,
	},
};

static __always_inline int next_stage(struct __sk_buff *skb, __u32 stage, __u32 offset)
{
	skb->cb[0] = offset;
	bpf_tail_call(skb, &stages, stage);
	count(K_TAILCALL_FAILED);
	return TC_ACT_OK;
}

/* After the L3 header: hand UDP/4789 to the VXLAN stage and GRE to the GRE stage. */
static __always_inline int l4_dispatch(struct __sk_buff *skb, __u8 proto, __u32 l4)
{
	if (proto == IPPROTO_UDP) {
		struct udphdr udp;

		if (bpf_skb_load_bytes(skb, l4, &udp, sizeof(udp)) < 0)
			return TC_ACT_OK;
		if (udp.dest == __constant_htons(VXLAN_PORT))
			return next_stage(skb, S_VXLAN, l4 + sizeof(udp));
	} else if (proto == IPPROTO_GRE) {
		return next_stage(skb, S_GRE, l4);
	} else if (proto == IPPROTO_IPIP) {
		count(K_IPIP);
	}
	return TC_ACT_OK;
}

SEC("tc")
int tunnel_entry(struct __sk_buff *skb)
{
	if (skb->protocol == __constant_htons(ETH_P_IP))
		return next_stage(skb, S_IPV4, ETH_HLEN);
	if (skb->protocol == __constant_htons(ETH_P_IPV6))
		return next_stage(skb, S_IPV6, ETH_HLEN);
	count(K_OTHER);
	return TC_ACT_OK;
}

SEC("tc")
int parse_ipv4(struct __sk_buff *skb)
{
	struct iphdr ip;
	__u32 off = skb->cb[0];

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
		return TC_ACT_OK;
	count(K_IPV4);
	return l4_dispatch(skb, ip.protocol, off + ip.ihl * 4);
}

SEC("tc")
int parse_ipv6(struct __sk_buff *skb)
{
	struct ipv6hdr ip6;
	__u32 off = skb->cb[0];

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
		return TC_ACT_OK;
	count(K_IPV6);
	return l4_dispatch(skb, ip6.nexthdr, off + sizeof(ip6));
}

SEC("tc")
int parse_vxlan(struct __sk_buff *skb)
{
	__u8 vx[8];

	if (bpf_skb_load_bytes(skb, skb->cb[0], vx, sizeof(vx)) < 0)
		return TC_ACT_OK;
	count(K_VXLAN);
	count_hash(&vni_packets, ((__u32)vx[4] << 16) | ((__u32)vx[5] << 8) | vx[6]);
	return TC_ACT_OK;
}

SEC("tc")
int parse_gre(struct __sk_buff *skb)
{
	__be16 gre[2];

	if (bpf_skb_load_bytes(skb, skb->cb[0], gre, sizeof(gre)) < 0)
		return TC_ACT_OK;
	count(K_GRE);
	count_hash(&gre_protocols, __be16_to_cpu(gre[1]));
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
