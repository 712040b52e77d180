/*
 * URL filter for `bpfkit urls --mode full`: what the classic design's filter becomes when nothing may be
 * missed. A SOCKET_FILTER (frame from its MAC header) that
 *  - reads Ethernet with up to two VLAN tags (802.1Q / 802.1ad QinQ), IPv4 (any header length) and IPv6
 *    (hop-by-hop, routing and destination-options extension headers);
 *  - keeps IP fragments (their TCP header may be elsewhere: userspace reassembles them);
 *  - tracks TCP connections in `sessions`, an LRU hash keyed by the connection with its two endpoints in a
 *    canonical order, so both directions (requests and their responses) share one entry;
 *  - starts tracking at the handshake (SYN), or, for connections already open when capture started, at a
 *    segment that looks like the start of an HTTP message: "HTTP/" or a method token of any shape
 *    (capital letters, '-' or '_', up to 16 of them) followed by a space or by the end of the segment (a
 *    request split inside its method);
 *  - keeps every segment of a tracked connection; a RST removes the entry. Userspace removes entries
 *    when a connection ends or turns out not to be HTTP; the LRU bounds the map in any case;
 *  - keeps every segment to or from the usual HTTP ports (80, 8080, 8000, 8008, 3128) even when its
 *    connection is not tracked: on those ports a capture that joined a connection mid-way and got its
 *    segments out of order loses nothing (elsewhere, a segment that precedes the request's first one is
 *    dropped before the connection is tracked);
 *  - keeps what it cannot look into, for userspace to decode: frames of any EtherType but IPv4, IPv6 and
 *    ARP (MPLS, PPPoE, 802.1ah, a third VLAN tag, ...) and tunnels (IP-in-IP, IPv6-in-IPv4, GRE, L2TPv3
 *    over IP, and UDP to VXLAN, Geneve, GTP-U, Teredo, AYIYA and L2TP ports). A filter that dropped them would make every
 *    request inside a tunnel vanish without a word.
 */
#include "bpfkit_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct flow_key {
	__u32 family;  /* 4 or 6 */
	__u32 a[4];    /* endpoint A's address (IPv4 in a[0]), as load_word reads it */
	__u32 b[4];
	__u16 port_a;
	__u16 port_b;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, __u64);
} sessions SEC(".maps");

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

static __always_inline int http_port(__u32 port)
{
	return port == 80 || port == 8080 || port == 8000 || port == 8008 || port == 3128;
}

static __always_inline int token_char(__u32 c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Does the payload at p (plen bytes, plen > 0) look like the start of an HTTP message? */
static __always_inline int http_start(struct __sk_buff *skb, __u32 p, __u32 plen)
{
	__u32 c = load_byte(skb, p);
	if (!token_char(c))
		return 0;
	if (plen >= 5 && load_word(skb, p) == 0x48545450 /* "HTTP" */ && load_byte(skb, p + 4) == '/')
		return 1;
#pragma unroll
	for (__u32 i = 1; i <= 16; i++) {
		if (i >= plen)
			return 1; /* the segment ends inside the token: a method split across segments */
		c = load_byte(skb, p + i);
		if (c == ' ')
			return 1;
		if (!token_char(c))
			return 0;
	}
	return 0;
}

#define ETH_P_ARP 0x0806
#define IPPROTO_IPIP 4
#define IPPROTO_UDP 17
#define IPPROTO_IPV6 41
#define IPPROTO_GRE 47
#define IPPROTO_L2TP 115 /* L2TPv3 straight over IP (RFC 3931) */

static __always_inline int tunnel_port(__u32 port)
{
	return port == 4789 || port == 6081 || port == 2152 || port == 3544 || port == 5072 || port == 1701;
}

/* Not TCP: keep it when it is a tunnel (its inner packets are decoded in userspace). */
static __always_inline int tunnel(struct __sk_buff *skb, __u32 proto, __u32 l4)
{
	if (proto == IPPROTO_GRE || proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 || proto == IPPROTO_L2TP)
		return KEEP_PACKET;
	if (proto == IPPROTO_UDP && (tunnel_port(load_half(skb, l4 + 2)) || tunnel_port(load_half(skb, l4))))
		return KEEP_PACKET;
	return DROP_PACKET;
}

SEC("socket")
int http_filter(struct __sk_buff *skb)
{
	__u32 off = 12;
	__u32 proto = load_half(skb, off);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		off += 4;
		proto = load_half(skb, off);
		if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
			off += 4;
			proto = load_half(skb, off);
		}
	}
	__u32 l3 = off + 2;
	__u32 l4, l4_end;
	/* The addresses go straight into the key (source as endpoint A for now): fewer live registers. */
	struct flow_key key = {};

	if (proto == ETH_P_IP) {
		__u32 ihl = (load_byte(skb, l3) & 0x0f) << 2;
		if (ihl < 20)
			return DROP_PACKET;
		if (load_half(skb, l3 + 6) & 0x3fff)
			return KEEP_PACKET; /* a fragment: reassembled in userspace */
		__u32 ipproto = load_byte(skb, l3 + 9);
		if (ipproto != IPPROTO_TCP)
			return tunnel(skb, ipproto, l3 + ihl);
		key.a[0] = load_word(skb, l3 + 12);
		key.b[0] = load_word(skb, l3 + 16);
		l4 = l3 + ihl;
		l4_end = l3 + load_half(skb, l3 + 2);
		key.family = 4;
	} else if (proto == ETH_P_IPV6) {
		__u32 next = load_byte(skb, l3 + 6);
		key.a[0] = load_word(skb, l3 + 8);
		key.a[1] = load_word(skb, l3 + 12);
		key.a[2] = load_word(skb, l3 + 16);
		key.a[3] = load_word(skb, l3 + 20);
		key.b[0] = load_word(skb, l3 + 24);
		key.b[1] = load_word(skb, l3 + 28);
		key.b[2] = load_word(skb, l3 + 32);
		key.b[3] = load_word(skb, l3 + 36);
		l4 = l3 + 40;
		l4_end = l4 + load_half(skb, l3 + 4);
#pragma unroll
		for (int i = 0; i < 4; i++) {
			if (next == 0 || next == 43 || next == 60) {
				__u32 hlen = (load_byte(skb, l4 + 1) + 1) << 3;
				next = load_byte(skb, l4);
				l4 += hlen;
			} else if (next == 44) {
				return KEEP_PACKET; /* a fragment: reassembled in userspace */
			}
		}
		if (next != IPPROTO_TCP)
			return tunnel(skb, next, l4);
		key.family = 6;
	} else {
		/* ARP says nothing about HTTP; anything else may carry IP in a way this filter cannot read */
		return proto == ETH_P_ARP ? DROP_PACKET : KEEP_PACKET;
	}

	__u32 sport = load_half(skb, l4);
	__u32 dport = load_half(skb, l4 + 2);
	__u32 payload = l4 + ((load_byte(skb, l4 + 12) >> 4) << 2);
	__u32 flags = load_byte(skb, l4 + 13);
	__u32 plen = l4_end > payload ? l4_end - payload : 0;

	/* Canonical order: the endpoint with the smaller (address, port) is A. */
	int src_is_a = sport <= dport;
#pragma unroll
	for (int i = 3; i >= 0; i--) {
		if (key.a[i] != key.b[i])
			src_is_a = key.a[i] < key.b[i];
	}
	if (src_is_a) {
		key.port_a = sport;
		key.port_b = dport;
	} else {
#pragma unroll
		for (int i = 0; i < 4; i++) {
			__u32 t = key.a[i];
			key.a[i] = key.b[i];
			key.b[i] = t;
		}
		key.port_a = dport;
		key.port_b = sport;
	}

	/*
	 * The clock is read only where an entry is written (its value, the time tracking began): a segment of
	 * a tracked connection, most of the traffic, then costs the lookup alone and no helper call.
	 */
	__u64 now;
	if (flags & TCP_SYN) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&sessions, &key, &now, BPF_ANY);
		return KEEP_PACKET;
	}
	if (bpf_map_lookup_elem(&sessions, &key)) {
		if (flags & TCP_RST)
			bpf_map_delete_elem(&sessions, &key);
		return KEEP_PACKET;
	}
	if (plen > 0 && http_start(skb, payload, plen)) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&sessions, &key, &now, BPF_ANY);
		return KEEP_PACKET;
	}
	if (http_port(sport) || http_port(dport))
		return KEEP_PACKET;
	return DROP_PACKET;
}
