/** Protocol numbers the decoders recognise (facts from the IEEE/IANA registries). */
export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q
  IPV6: 0x86dd,
  QINQ: 0x88a8, // 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard double tagging
  QINQ_OLD2: 0x9200, // another pre-standard S-tag
  PBB: 0x88e7, // 802.1ah provider backbone: I-tag, then a whole customer Ethernet frame
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
  PPPOE_DISCOVERY: 0x8863,
  PPPOE_SESSION: 0x8864,
  TEB: 0x6558, // transparent Ethernet bridging (GRE, Geneve): an Ethernet frame follows
  ERSPAN_II: 0x88be, // ERSPAN type I (no header) and II (8-byte header) in GRE
  ERSPAN_III: 0x22eb,
  PPP: 0x880b, // PPP in GRE (PPTP)
  WCCP: 0x883e, // WCCP redirect in GRE: 4-byte header, then IPv4
} as const;

/** PPP protocol numbers (RFC 1661 and the IANA PPP DLL registry) that carry a packet bpfkit decodes. */
export const PPP_PROTO = {
  IPV4: 0x0021,
  IPV6: 0x0057,
  MPLS: 0x0281,
} as const;

/** UDP ports that carry a tunnel PacketView decodes through (IANA). */
export const TUNNEL_PORT = {
  VXLAN: 4789,
  GENEVE: 6081,
  GTP_U: 2152,
  TEREDO: 3544,
  AYIYA: 5072,
} as const;

/** IP protocol numbers (IANA), for `PacketView.proto`. */
export const IPPROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  IPIP: 4, // IPv4 in IP
  TCP: 6,
  UDP: 17,
  IPV6: 41, // IPv6 in IP (6in4, 6to4)
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
} as const;

/** TCP flag bits as they appear in PacketView.tcpFlags. */
export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Address families in NULL/LOOP link headers (BSD numbering differs per OS for IPv6). */
export const AF_INET = 2;
export const AF_INET6_VALUES = [10, 24, 28, 30] as const;
