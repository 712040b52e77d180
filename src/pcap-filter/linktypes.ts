/**
 * The link types bpfkit compiles filters for, by DLT/LINKTYPE name and number, with where each puts
 * its protocol field and its network-layer header (libpcap's off_linktype / off_linkpl).
 */
import { FilterSyntaxError } from './errors.js';

/** How the link layer names the network protocol, which decides what `ip`, `arp`... compile to. */
export type LinkKind =
  | 'ether'
  | 'raw'
  | 'ipv4'
  | 'ipv6'
  | 'sll'
  | 'sll2'
  | 'null'
  | 'loop'
  | 'ppp'
  | 'ieee80211'
  | 'radiotap'
  | 'pflog'
  | 'chdlc'
  | 'slip'
  | 'frelay'
  | 'ipnet'
  | 'atm'
  | 'arcnet'
  | 'juniper';

/** One supported link type. */
export interface LinkType {
  /** tcpdump's `-y` name. */
  name: string;
  /** The DLT_ value libpcap reports. */
  dlt: number;
  /** The LINKTYPE_ value stored in pcap files. */
  linktype: number;
  /** How the protocol is named. */
  kind: LinkKind;
  /** Offset of the protocol field (-1 when the link type has none). */
  offLinktype: number;
  /** Offset of the network-layer header. */
  offLinkpl: number;
  /** tcpdump's description, used in "no VLAN support for ..." messages. */
  description: string;
  /**
   * Where an LLC payload without SNAP starts, relative to the network layer (libpcap's off_nl_nosnap less
   * off_nl), for the kinds that take it from here (Juniper's): -1 where libpcap leaves it unset.
   */
  nosnap?: number;
}

const lt = (
  name: string,
  dlt: number,
  linktype: number,
  kind: LinkKind,
  offLinktype: number,
  offLinkpl: number,
  description: string,
): LinkType => ({ name, dlt, linktype, kind, offLinktype, offLinkpl, description });

/** Every link type bpfkit can compile for. */
export const LINK_TYPES: readonly LinkType[] = [
  lt('EN10MB', 1, 1, 'ether', 12, 14, 'Ethernet'),
  lt('RAW', 12, 101, 'raw', -1, 0, 'Raw IP'),
  lt('IPV4', 228, 228, 'ipv4', -1, 0, 'Raw IPv4'),
  lt('IPV6', 229, 229, 'ipv6', -1, 0, 'Raw IPv6'),
  lt('LINUX_SLL', 113, 113, 'sll', 14, 16, 'Linux cooked v1'),
  lt('LINUX_SLL2', 276, 276, 'sll2', 0, 20, 'Linux cooked v2'),
  lt('NULL', 0, 0, 'null', 0, 4, 'BSD loopback'),
  lt('LOOP', 108, 108, 'loop', 0, 4, 'OpenBSD loopback'),
  lt('PPP', 9, 9, 'ppp', 2, 4, 'PPP'),
  // 802.11: no fixed network-layer offsets; Gen sets libpcap's variable ones (the LLC header where a
  // prologue computes it, past a radiotap header of variable length).
  lt('IEEE802_11', 105, 105, 'ieee80211', -1, -1, '802.11'),
  lt('IEEE802_11_RADIO', 127, 127, 'radiotap', -1, -1, '802.11 plus radiotap header'),
  // OpenBSD pf's log: a header of variable length (its first byte, rounded up to 4) before the IP packet.
  lt('PFLOG', 117, 117, 'pflog', -1, -1, 'OpenBSD pflog'),
  // Cisco HDLC: address, control, then an Ethernet type (libpcap's and tcpdump's type for Cisco captures).
  lt('C_HDLC', 104, 104, 'chdlc', 2, 4, 'Cisco HDLC'),
  // SLIP as BSD's BPF gives it: a 16-byte pseudo-header (direction first) before the IP packet.
  lt('SLIP', 8, 8, 'slip', -1, 16, 'SLIP'),
  // Frame Relay: Q.922 address, control 0x03, NLPID. libpcap 1.10 reads the network layer from offset 0
  // (off_linkpl and off_nl both 0), so its IP tests read the Q.922 header: reproduced, not corrected.
  lt('FRELAY', 107, 107, 'frelay', -1, 0, 'Frame Relay'),
  // Solaris ipnet: version, address family, direction (htons), ... 24 bytes before the IP packet.
  lt('IPNET', 226, 226, 'ipnet', 1, 24, 'Solaris ipnet'),
  // RFC 1483 LLC-encapsulated ATM: the LLC/SNAP header at 0, the SNAP type at 6, the network layer at 8.
  // DLT 11 is stored in files as LINKTYPE 100.
  lt('ATM_RFC1483', 11, 100, 'atm', 6, 8, 'RFC 1483 LLC-encapsulated ATM'),
  // Linux ARCNET: source, destination, 2 bytes offset, then the ARCNET protocol byte; payload at 8.
  lt('ARCNET_LINUX', 129, 129, 'arcnet', 4, 8, 'Linux ARCNET'),
  // Juniper's captures: a header starting with the magic "MGC" that libpcap checks for every protocol (no
  // protocol field is read), the network layer at a constant offset per type, and where OSI would be.
  ...(
    [
      ['JUNIPER_MLPPP', 130, 4, -1, 'Juniper Multi-Link PPP'],
      ['JUNIPER_MLFR', 131, 4, -1, 'Juniper Multi-Link Frame Relay'],
      ['JUNIPER_GGSN', 133, 12, -1, 'Juniper GGSN PIC'],
      ['JUNIPER_MFR', 134, 4, -1, 'Juniper FRF.16 Frame Relay'],
      ['JUNIPER_ATM2', 135, 8, 10, 'Juniper ATM2 PIC'],
      ['JUNIPER_ATM1', 137, 4, 10, 'Juniper ATM1 PIC'],
      ['JUNIPER_MONITOR', 164, 12, -1, 'Juniper Passive Monitor PIC'],
      ['JUNIPER_PPPOE', 167, 32, 3, 'Juniper PPPoE'],
      ['JUNIPER_PPPOE_ATM', 168, 6, -1, 'Juniper PPPoE/ATM'],
      ['JUNIPER_ETHER', 178, 32, 3, 'Juniper Ethernet'],
      ['JUNIPER_PPP', 179, 4, -1, 'Juniper PPP'],
      ['JUNIPER_FRELAY', 180, 4, -1, 'Juniper Frame Relay'],
      ['JUNIPER_CHDLC', 181, 4, -1, 'Juniper C-HDLC'],
    ] as const
  ).map(([name, n, nl, nosnap, desc]) => ({ ...lt(name, n, n, 'juniper', -1, nl, desc), nosnap })),
];

/** Find a link type by tcpdump name (any case, `DLT_`/`LINKTYPE_` prefix allowed) or LINKTYPE (else DLT) number. */
export function findLinkType(nameOrNumber: string | number): LinkType {
  if (typeof nameOrNumber === 'number' || /^[0-9]+$/.test(nameOrNumber)) {
    const n = Number(nameOrNumber);
    // libpcap's linktype_to_dlt: a number that is no LINKTYPE_ value of its own is the DLT_ value (files
    // written with DLT 11 for RFC 1483 ATM, or DLT 12 for raw IP, as old libpcap versions wrote them).
    const found = LINK_TYPES.find((l) => l.linktype === n) ?? LINK_TYPES.find((l) => l.dlt === n);
    if (!found) throw new FilterSyntaxError(`link type ${n} is not supported by bpfkit's filter compiler`, 0);
    return found;
  }
  const name = nameOrNumber.toUpperCase().replace(/^(DLT_|LINKTYPE_)/, '');
  const found = LINK_TYPES.find((l) => l.name === name);
  if (!found) {
    const names = LINK_TYPES.map((l) => l.name).join(', ');
    throw new FilterSyntaxError(`unknown link type '${nameOrNumber}' (bpfkit compiles for ${names})`, 0);
  }
  return found;
}
