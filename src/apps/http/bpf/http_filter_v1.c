/*
 * URL filter, version I (the classic design): a SOCKET_FILTER that keeps IPv4/TCP packets whose payload
 * is not empty and starts with "HTTP", "GET", "POST", "PUT", "DELETE" or "HEAD"; everything else is
 * dropped before it reaches userspace. The frame is read from its MAC header (raw-socket view) with the
 * classic load_byte/half/word packet loads.
 *
 * Known limit (kept on purpose): only the first packet of a request is kept, so a request line split
 * over several packets reaches userspace truncated.
 */
#include "bpfkit_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Offset of the TCP payload of an IPv4/TCP frame with a non-empty payload, or 0. */
static __always_inline __u32 tcp_payload(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != ETH_P_IP)
		return 0;
	if (load_byte(skb, ETH_HLEN + 9) != IPPROTO_TCP)
		return 0;
	__u32 ip_hlen = (load_byte(skb, ETH_HLEN) & 0x0f) << 2;
	__u32 ip_total = load_half(skb, ETH_HLEN + 2);
	__u32 tcp = ETH_HLEN + ip_hlen;
	__u32 tcp_hlen = (load_byte(skb, tcp + 12) >> 4) << 2;
	if (ip_total <= ip_hlen + tcp_hlen)
		return 0; /* no payload */
	return tcp + tcp_hlen;
}

/* Does the payload start with one of the six classic words? Loads stop at the first mismatch. */
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
	__u32 p = tcp_payload(skb);
	if (p == 0)
		return DROP_PACKET;
	if (http_start(skb, p))
		return KEEP_PACKET;
	return DROP_PACKET;
}
