/** Protocol numbers the decoders recognise (facts from the IEEE/IANA registries). */
export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q
  IPV6: 0x86dd,
  QINQ: 0x88a8, // 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard double tagging
} as const;

/** IP protocol numbers (IANA), for `PacketView.proto`. */
export const IPPROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
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
