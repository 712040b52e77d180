/**
 * AF_PACKET structs (include/uapi/linux/if_packet.h, linux/filter.h): the address a packet socket binds
 * to and reports, promiscuous-mode membership, classic BPF filters, and the TPACKET_V3 receive ring.
 */
import { i32, layout, ptr, u16, u32, u8 } from './layout.js';

/** struct sockaddr_ll: bind(2) address and recvmsg(2) source of a packet socket. */
export const SOCKADDR_LL = layout({ struct: 'sockaddr_ll' }, 20, 'exact', {
  sll_family: u16(0),
  sll_protocol: u16(2),
  sll_ifindex: i32(4),
  sll_pkttype: u8(10),
});

/**
 * struct packet_mreq (PACKET_ADD_MEMBERSHIP). The kernel's BTF only has packet_mreq_max, the same head
 * with a 32-byte address; it accepts the 16-byte uapi struct.
 */
export const PACKET_MREQ = layout({ struct: 'packet_mreq_max' }, 16, 'fields', {
  mr_ifindex: i32(0),
  mr_type: u16(4),
});

/** struct sock_filter: one classic BPF instruction. */
export const SOCK_FILTER = layout({ struct: 'sock_filter' }, 8, 'exact', {
  code: u16(0),
  jt: u8(2),
  jf: u8(3),
  k: u32(4),
});

/** struct sock_fprog (SO_ATTACH_FILTER): a classic BPF program. */
export const SOCK_FPROG = layout({ struct: 'sock_fprog' }, 16, 'exact', {
  len: u16(0),
  filter: ptr(8),
});

/** struct tpacket_stats (PACKET_STATISTICS; TPACKET_V3 appends a field bpfkit does not ask for). */
export const TPACKET_STATS = layout({ struct: 'tpacket_stats' }, 8, 'exact', {
  tp_packets: u32(0),
  tp_drops: u32(4),
});

/** struct tpacket_req3 (PACKET_RX_RING with TPACKET_V3): the ring's geometry. */
export const TPACKET_REQ3 = layout({ struct: 'tpacket_req3' }, 28, 'exact', {
  tp_block_size: u32(0),
  tp_block_nr: u32(4),
  tp_frame_size: u32(8),
  tp_frame_nr: u32(12),
  tp_retire_blk_tov: u32(16),
  tp_sizeof_priv: u32(20),
  tp_feature_req_word: u32(24),
});

/** struct tpacket_block_desc: the head of each ring block (TPACKET_V3's header is hdr.bh1). */
export const TPACKET_BLOCK_DESC = layout({ struct: 'tpacket_block_desc' }, 48, 'exact', {
  'hdr.bh1.block_status': u32(8),
  'hdr.bh1.num_pkts': u32(12),
  'hdr.bh1.offset_to_first_pkt': u32(16),
});

/** struct tpacket3_hdr: the head of each packet in a block; a struct sockaddr_ll follows it. */
export const TPACKET3_HDR = layout({ struct: 'tpacket3_hdr' }, 48, 'exact', {
  tp_next_offset: u32(0),
  tp_sec: u32(4),
  tp_nsec: u32(8),
  tp_snaplen: u32(12),
  tp_len: u32(16),
  tp_status: u32(20),
  tp_mac: u16(24),
  tp_net: u16(26),
});
