/*
 * URL filter, version II (the classic design): version I plus a `sessions` hash map keyed by the
 * (source IP, destination IP, source port, destination port) of a matching packet. A packet that matches
 * inserts its key (timestamp 0: userspace stamps it at its next cleanup); a later packet whose key is in
 * the map is kept too, so userspace sees the continuation of a request line split over packets. Userspace
 * deletes the key once it printed the line, and ages entries out after 30 s.
 */
#include "bpfkit_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct session_key {
	__u32 src_ip;   /* as load_word reads it: a host-order number */
	__u32 dst_ip;
	__u16 src_port;
	__u16 dst_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct session_key);
	__type(value, __u64);
} sessions SEC(".maps");

static __always_inline int http_start(struct __sk_buff *skb, __u32 p)
{
	__u32 c = load_byte(skb, p);
	if (c == 'G')
		return load_byte(skb, p + 1) == 'E' && load_byte(skb, p + 2) == 'T';
	if (c == 'P') {
		__u32 c1 = load_byte(skb, p + 1);
		if (c1 == 'U')
			return load_byte(skb, p + 2) == 'T';
		return c1 == 'O' && load_byte(skb, p + 2) == 'S' && load_byte(skb, p + 3) == 'T';
	}
	if (c == 'H') {
		__u32 c1 = load_byte(skb, p + 1);
		if (c1 == 'T')
			return load_byte(skb, p + 2) == 'T' && load_byte(skb, p + 3) == 'P';
		return c1 == 'E' && load_byte(skb, p + 2) == 'A' && load_byte(skb, p + 3) == 'D';
	}
	if (c == 'D')
		return load_byte(skb, p + 1) == 'E' && load_byte(skb, p + 2) == 'L' && load_byte(skb, p + 3) == 'E' &&
		       load_byte(skb, p + 4) == 'T' && load_byte(skb, p + 5) == 'E';
	return 0;
}

SEC("socket")
int http_filter(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != ETH_P_IP)
		return DROP_PACKET;
	if (load_byte(skb, ETH_HLEN + 9) != IPPROTO_TCP)
		return DROP_PACKET;
	__u32 ip_hlen = (load_byte(skb, ETH_HLEN) & 0x0f) << 2;
	__u32 ip_total = load_half(skb, ETH_HLEN + 2);
	__u32 tcp = ETH_HLEN + ip_hlen;
	__u32 tcp_hlen = (load_byte(skb, tcp + 12) >> 4) << 2;
	if (ip_total <= ip_hlen + tcp_hlen)
		return DROP_PACKET; /* no payload */
	__u32 p = tcp + tcp_hlen;

	struct session_key key = {};
	key.src_ip = load_word(skb, ETH_HLEN + 12);
	key.dst_ip = load_word(skb, ETH_HLEN + 16);
	key.src_port = load_half(skb, tcp);
	key.dst_port = load_half(skb, tcp + 2);

	if (http_start(skb, p)) {
		__u64 zero = 0;
		bpf_map_update_elem(&sessions, &key, &zero, BPF_ANY);
		return KEEP_PACKET;
	}
	if (bpf_map_lookup_elem(&sessions, &key))
		return KEEP_PACKET;
	return DROP_PACKET;
}
