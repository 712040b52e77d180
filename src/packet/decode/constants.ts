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
  MACSEC: 0x88e5, // 802.1AE: SecTAG, then (when neither encrypted nor changed) the frame's own EtherType
  NSH: 0x894f, // network service header (RFC 8300): its length in 4-byte words, then its next protocol
  ARISTA: 0xd28b, // Arista's vendor-specific header (a switch's timestamp), then the frame's own EtherType
} as const;

/**
 * EtherTypes whose frames carry no IP packet: control and link protocols, decoded as what they are (not
 * IP, like ARP) rather than counted as frames no decoder knows. An EtherType outside this list that no
 * decoder follows stays `undecoded` — it may hide IP.
 */
export function isNonIpEtherType(type: number): boolean {
  // DECnet's family: MOP dump/load and console, routing, LAT, diagnostics, customer use, LAVC
  if (type >= 0x6000 && type <= 0x6007) return true;
  switch (type) {
    case 0x0842: // Wake-on-LAN
    case 0x2000: // CDP, as Cisco HDLC carries it (its SNAP protocol id used as a protocol type)
    case 0x8035: // RARP
    case 0x809b: // AppleTalk (EtherTalk)
    case 0x80f3: // AppleTalk ARP
    case 0x8137: // IPX
    case 0x8808: // Ethernet flow control (PAUSE)
    case 0x8809: // slow protocols: LACP, marker, OAM
    case 0x886f: // Microsoft network load balancing heartbeat
    case 0x888e: // EAPOL (802.1X, and MACsec's key agreement)
    case 0x88a2: // ATA over Ethernet
    case 0x88ca: // TIPC
    case 0x88cc: // LLDP
    case 0x88f7: // PTP (IEEE 1588)
    case 0x8902: // CFM / Y.1731 OAM
    case 0x9000: // configuration test protocol (loopback)
    case 0xfefe: // OSI (IS-IS, ES-IS, CLNP), as Cisco HDLC carries it
      return true;
    default:
      return false;
  }
}

/** SNAP's OUI under which the protocol id is Cisco's own (not an EtherType). */
export const OUI_CISCO = 0x00000c;

/**
 * Cisco's SNAP protocol ids (OUI 00-00-0C) that carry no IP: CDP, CGMP, VTP, DTP, PAgP, UDLD, PVST+,
 * and the other switch-to-switch protocols.
 */
export function isCiscoNonIpPid(pid: number): boolean {
  switch (pid) {
    case 0x0102: // DRiP
    case 0x0104: // PAgP
    case 0x0105: // MLS hello
    case 0x010b: // PVST+
    case 0x0111: // UDLD
    case 0x2000: // CDP
    case 0x2001: // CGMP
    case 0x2003: // VTP
    case 0x2004: // DTP
    case 0x200a: // STP UplinkFast
      return true;
    default:
      return false;
  }
}

/** PPP protocol numbers (RFC 1661 and the IANA PPP DLL registry) that carry a packet bpfkit decodes. */
export const PPP_PROTO = {
  IPV4: 0x0021,
  IPV6: 0x0057,
  MPLS: 0x0281,
} as const;

/**
 * PPP protocols from 0x8000 up are control protocols (RFC 1661 section 2: 8xxx network control, such
 * as IPCP 0x8021 and IPV6CP 0x8057; cxxx link control, such as LCP 0xc021, PAP 0xc023, CHAP 0xc223):
 * they carry no packet of their own.
 */
export function isPppControl(proto: number): boolean {
  return proto >= 0x8000;
}

/** UDP ports that carry a tunnel PacketView decodes through (IANA). */
export const TUNNEL_PORT = {
  VXLAN: 4789,
  GENEVE: 6081,
  GTP_U: 2152,
  TEREDO: 3544,
  AYIYA: 5072,
  L2TP: 1701,
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
  L2TP: 115, // L2TPv3 straight over IP (RFC 3931)
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
