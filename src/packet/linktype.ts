/**
 * Link-layer header types (the LINKTYPE_* registry used by pcap and pcapng). Only the ones bpfkit
 * decodes are named; any other number still reads and writes fine, it just is not decoded.
 */
export const LINKTYPE = {
  NULL: 0, // BSD loopback: 4-byte address family in the writer's byte order
  EN10MB: 1, // Ethernet
  RAW: 101, // raw IPv4 or IPv6, version from the first nibble
  LOOP: 108, // OpenBSD loopback: 4-byte address family, big-endian
  LINUX_SLL: 113, // Linux "cooked" capture v1, 16-byte header
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276, // Linux "cooked" capture v2, 20-byte header
} as const;

const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

/** "EN10MB" for 1, "LINKTYPE_123" for one we do not name. */
export function linktypeName(linktype: number): string {
  return NAMES[linktype] ?? `LINKTYPE_${linktype}`;
}

/** Accepts a name ("EN10MB", "linux_sll") or a number. Returns undefined when neither. */
export function parseLinktype(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const upper = text.toUpperCase().replace(/^LINKTYPE_|^DLT_/, '');
  for (const [num, name] of Object.entries(NAMES)) if (name === upper) return Number(num);
  return undefined;
}
