/**
 * Link-layer header types (the LINKTYPE_* registry used by pcap and pcapng files) and their names as
 * libpcap prints them (`tcpdump -r` says "link-type NAME"): `pcap info` and error messages name a link
 * type the way the rest of the tooling does. `LINKTYPE` lists the ones bpfkit decodes.
 */
export const LINKTYPE = {
  NULL: 0, // BSD loopback: 4-byte address family in the writer's byte order
  EN10MB: 1, // Ethernet
  SLIP: 8, // 16-byte header (direction, compressed-header bytes), then the uncompressed IP packet
  PPP: 9, // PPP in HDLC-like framing (address/control bytes optional), then a 2-byte protocol
  RAW_12: 12, // raw IP, as some platforms' DLT_RAW wrote it
  PPP_SERIAL: 50, // PPP in HDLC framing (RFC 1662)
  RAW: 101, // raw IPv4 or IPv6, version from the first nibble
  C_HDLC: 104, // Cisco HDLC: address, control, 2-byte EtherType
  IEEE802_11: 105,
  FRELAY: 107, // Frame Relay: Q.922 address, then NLPID (RFC 2427) or a Cisco-style EtherType
  LOOP: 108, // OpenBSD loopback: 4-byte address family, big-endian
  LINUX_SLL: 113, // Linux "cooked" capture v1, 16-byte header
  IEEE802_11_RADIO: 127, // radiotap header, then 802.11
  JUNIPER_ETHER: 178, // Juniper's "MGC" header (flags, optional extension TLVs), then Ethernet
  MFR: 182, // FRF.16 multilink Frame Relay: 2-byte fragment header, then Frame Relay
  IPNET: 226, // Solaris ipnet: 24-byte header whose address family says IPv4 or IPv6
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239, // Linux netfilter log: 4-byte header, then TLVs, one of them the packet
  IPOIB: 242, // IP over InfiniBand: 40-byte address pseudo-header, then RFC 4391's EtherType + reserved
  LINUX_SLL2: 276, // Linux "cooked" capture v2, 20-byte header
  DSA_TAG_BRCM: 281, // Ethernet with a 4-byte Broadcom switch tag after the MAC addresses
  DSA_TAG_BRCM_PREPEND: 282, // a 4-byte Broadcom switch tag, then Ethernet
  DSA_TAG_DSA: 284, // Ethernet with a 4-byte Marvell DSA tag after the MAC addresses
  DSA_TAG_EDSA: 285, // Ethernet with an 8-byte Marvell EDSA tag (EtherType, 2 reserved, DSA tag)
} as const;

/** libpcap's name of each link type it knows (libpcap 1.10), by number, and the registry's USER0..15. */
const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  6: 'IEEE802',
  7: 'ARCNET',
  8: 'SLIP',
  9: 'PPP',
  10: 'FDDI',
  11: 'ATM_RFC1483',
  12: 'RAW',
  15: 'SLIP_BSDOS',
  16: 'PPP_BSDOS',
  19: 'ATM_CLIP',
  50: 'PPP_SERIAL',
  51: 'PPP_ETHER',
  99: 'SYMANTEC_FIREWALL',
  100: 'ATM_RFC1483',
  101: 'RAW',
  102: 'SLIP_BSDOS',
  103: 'PPP_BSDOS',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  106: 'ATM_CLIP',
  107: 'FRELAY',
  108: 'LOOP',
  109: 'ENC',
  113: 'LINUX_SLL',
  114: 'LTALK',
  117: 'PFLOG',
  119: 'PRISM_HEADER',
  122: 'IP_OVER_FC',
  123: 'SUNATM',
  127: 'IEEE802_11_RADIO',
  129: 'ARCNET_LINUX',
  130: 'JUNIPER_MLPPP',
  131: 'JUNIPER_MLFR',
  132: 'JUNIPER_ES',
  133: 'JUNIPER_GGSN',
  134: 'JUNIPER_MFR',
  135: 'JUNIPER_ATM2',
  136: 'JUNIPER_SERVICES',
  137: 'JUNIPER_ATM1',
  138: 'APPLE_IP_OVER_IEEE1394',
  139: 'MTP2_WITH_PHDR',
  140: 'MTP2',
  141: 'MTP3',
  142: 'SCCP',
  143: 'DOCSIS',
  144: 'LINUX_IRDA',
  // 147-162: the registry's private-use range (LINKTYPE_USER0..15); libpcap has no name for them,
  // Wireshark calls them "USER 0".."USER 15"
  147: 'USER0',
  148: 'USER1',
  149: 'USER2',
  150: 'USER3',
  151: 'USER4',
  152: 'USER5',
  153: 'USER6',
  154: 'USER7',
  155: 'USER8',
  156: 'USER9',
  157: 'USER10',
  158: 'USER11',
  159: 'USER12',
  160: 'USER13',
  161: 'USER14',
  162: 'USER15',
  163: 'IEEE802_11_RADIO_AVS',
  164: 'JUNIPER_MONITOR',
  165: 'BACNET_MS_TP',
  166: 'PPP_PPPD',
  167: 'JUNIPER_PPPOE',
  168: 'JUNIPER_PPPOE_ATM',
  169: 'GPRS_LLC',
  170: 'GPF_T',
  171: 'GPF_F',
  174: 'JUNIPER_PIC_PEER',
  175: 'ERF_ETH',
  176: 'ERF_POS',
  177: 'LINUX_LAPD',
  178: 'JUNIPER_ETHER',
  179: 'JUNIPER_PPP',
  180: 'JUNIPER_FRELAY',
  181: 'JUNIPER_CHDLC',
  182: 'MFR',
  183: 'JUNIPER_VP',
  184: 'A429',
  185: 'A653_ICM',
  186: 'USB_FREEBSD',
  187: 'BLUETOOTH_HCI_H4',
  188: 'IEEE802_16_MAC_CPS',
  189: 'USB_LINUX',
  190: 'CAN20B',
  191: 'IEEE802_15_4_LINUX',
  192: 'PPI',
  193: 'IEEE802_16_MAC_CPS_RADIO',
  194: 'JUNIPER_ISM',
  195: 'IEEE802_15_4',
  196: 'SITA',
  197: 'ERF',
  198: 'RAIF1',
  199: 'IPMB_KONTRON',
  200: 'JUNIPER_ST',
  201: 'BLUETOOTH_HCI_H4_WITH_PHDR',
  202: 'AX25_KISS',
  209: 'IPMB_LINUX',
  215: 'IEEE802_15_4_NONASK_PHY',
  216: 'LINUX_EVDEV',
  219: 'MPLS',
  220: 'USB_LINUX_MMAPPED',
  221: 'DECT',
  222: 'AOS',
  223: 'WIHART',
  224: 'FC_2',
  225: 'FC_2_WITH_FRAME_DELIMS',
  226: 'IPNET',
  227: 'CAN_SOCKETCAN',
  228: 'IPV4',
  229: 'IPV6',
  230: 'IEEE802_15_4_NOFCS',
  231: 'DBUS',
  232: 'JUNIPER_VS',
  233: 'JUNIPER_SRX_E2E',
  234: 'JUNIPER_FIBRECHANNEL',
  235: 'DVB_CI',
  236: 'MUX27010',
  237: 'STANAG_5066_D_PDU',
  238: 'JUNIPER_ATM_CEMIC',
  239: 'NFLOG',
  240: 'NETANALYZER',
  241: 'NETANALYZER_TRANSPARENT',
  242: 'IPOIB',
  243: 'MPEG_2_TS',
  244: 'NG40',
  245: 'NFC_LLCP',
  246: 'PFSYNC',
  247: 'INFINIBAND',
  248: 'SCTP',
  249: 'USBPCAP',
  250: 'RTAC_SERIAL',
  251: 'BLUETOOTH_LE_LL',
  253: 'NETLINK',
  254: 'BLUETOOTH_LINUX_MONITOR',
  255: 'BLUETOOTH_BREDR_BB',
  256: 'BLUETOOTH_LE_LL_WITH_PHDR',
  257: 'PROFIBUS_DL',
  258: 'PKTAP',
  259: 'EPON',
  260: 'IPMI_HPM_2',
  261: 'ZWAVE_R1_R2',
  262: 'ZWAVE_R3',
  263: 'WATTSTOPPER_DLM',
  264: 'ISO_14443',
  265: 'RDS',
  266: 'USB_DARWIN',
  267: 'OPENFLOW',
  268: 'SDLC',
  269: 'TI_LLN_SNIFFER',
  271: 'VSOCK',
  272: 'NORDIC_BLE',
  273: 'DOCSIS31_XRA31',
  274: 'ETHERNET_MPACKET',
  275: 'DISPLAYPORT_AUX',
  276: 'LINUX_SLL2',
  278: 'OPENVIZSLA',
  279: 'EBHSCR',
  280: 'VPP_DISPATCH',
  281: 'DSA_TAG_BRCM',
  282: 'DSA_TAG_BRCM_PREPEND',
  283: 'IEEE802_15_4_TAP',
  284: 'DSA_TAG_DSA',
  285: 'DSA_TAG_EDSA',
  286: 'ELEE',
  287: 'Z_WAVE_SERIAL',
  288: 'USB_2_0',
  289: 'ATSC_ALP',
};

/** Other spellings users type: the LINKTYPE_* registry's names where they differ from libpcap's. */
const ALIASES: Record<string, number> = {
  IEEE802_11_RADIOTAP: 127,
  ETHERNET: 1,
};

/** "EN10MB" for 1, "LINKTYPE_123" for a number libpcap does not name. */
export function linktypeName(linktype: number): string {
  return NAMES[linktype] ?? `LINKTYPE_${linktype}`;
}

/** Accepts a name ("EN10MB", "linux_sll", "DLT_RAW", "LINKTYPE_RAW") or a number. Undefined when neither. */
export function parseLinktype(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const upper = text.toUpperCase().replace(/^LINKTYPE_|^DLT_/, '');
  if (upper === 'RAW') return LINKTYPE.RAW;
  if (ALIASES[upper] !== undefined) return ALIASES[upper];
  for (const [num, name] of Object.entries(NAMES)) if (name === upper) return Number(num);
  return undefined;
}
