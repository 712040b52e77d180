/**
 * The kernel's ABI as bpfkit uses it: every struct src/kernel reads or writes, with each field's kernel
 * name, offset and type (layout.ts), and typed accessors for them (access.ts). Checked against the
 * running kernel's BTF by test/kernel/abi-btf.test.ts, which walks every layout exported here.
 */
export * from './layout.js';
export * from './access.js';
export { BPF_ATTR } from './bpf-attr.js';
export { BPF_PROG_INFO, BPF_MAP_INFO, BPF_LINK_INFO } from './bpf-info.js';
export {
  SOCKADDR_LL,
  PACKET_MREQ,
  SOCK_FILTER,
  SOCK_FPROG,
  TPACKET_STATS,
  TPACKET_REQ3,
  TPACKET_BLOCK_DESC,
  TPACKET3_HDR,
} from './packet.js';
export { MSGHDR, IOVEC, CMSGHDR, OLD_TIMESPEC, SOCKADDR_UN } from './socket.js';
export { BTF_HEADER, BPF_FUNC_INFO, BPF_LINE_INFO } from './btf-format.js';
