/** Magic numbers and block codes of the pcap and pcapng file formats (facts from the format specs). */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export const PCAPNG_SHB = 0x0a0d0d0a;
/** "snoo", the first four bytes of a Solaris snoop file (RFC 1761), read big-endian. */
export const SNOOP_MAGIC = 0x736e6f6f;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_OPB = 0x00000002; // obsolete Packet Block
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_EPB = 0x00000006;

export const PCAPNG_OPT_ENDOFOPT = 0;
export const PCAPNG_OPT_COMMENT = 1;
export const PCAPNG_IF_NAME = 2;
export const PCAPNG_IF_DESCRIPTION = 3;
export const PCAPNG_IF_TSRESOL = 9;
export const PCAPNG_IF_TSOFFSET = 14;
export const PCAPNG_SHB_USERAPPL = 4;

/**
 * Largest record or block the readers accept. Bigger ones are corrupt length fields, not packets:
 * it keeps a flipped bit from making the reader allocate gigabytes.
 */
export const MAX_RECORD_LEN = 64 * 1024 * 1024;
/** Limit on caplen when a pcap header says snaplen 0 (libpcap's largest snapshot length). */
export const DEFAULT_MAX_SNAPLEN = 262144;

/** The capture file formats bpfkit reads and writes. */
export type CaptureFormat = 'pcap' | 'pcapng' | 'snoop';

/** The capture format four leading bytes announce ("snoo" starts a snoop file), or undefined. */
export function captureFormatOf(head: Uint8Array): CaptureFormat | undefined {
  const dv = new DataView(head.buffer, head.byteOffset, 4);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le === PCAPNG_SHB) return 'pcapng';
  if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC || be === PCAP_MAGIC_USEC || be === PCAP_MAGIC_NSEC)
    return 'pcap';
  if (be === SNOOP_MAGIC) return 'snoop';
  return undefined;
}

/** What compression, if any, four leading bytes announce. */
export function compressionOf(head: Uint8Array): 'gzip' | 'zstd' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  // a zstd skippable frame (metadata) may come first: 0x184D2A50..5F, little-endian
  if ((head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  return undefined;
}
