/**
 * What BPF_OBJ_GET_INFO_BY_FD fills in (include/uapi/linux/bpf.h): struct bpf_prog_info, bpf_map_info
 * and bpf_link_info. The kernel writes min(info_len, its sizeof) bytes, so `size` is the version bpfkit
 * asks for; kernels that know less leave the rest zero.
 */
import { bits, bytes, layout, u32, u64 } from './layout.js';

/** struct bpf_prog_info, up to attach_btf_id. */
export const BPF_PROG_INFO = layout({ struct: 'bpf_prog_info' }, 232, 'prefix', {
  type: u32(0),
  id: u32(4),
  tag: bytes(8, 8),
  jited_prog_len: u32(16),
  xlated_prog_len: u32(20),
  load_time: u64(40),
  created_by_uid: u32(48),
  nr_map_ids: u32(52),
  map_ids: u64(56),
  name: bytes(64, 16),
  gpl_compatible: bits(84, 0, 1),
  btf_id: u32(128),
  run_time_ns: u64(192),
  run_cnt: u64(200),
  verified_insns: u32(216),
});

/** struct bpf_map_info, up to map_extra. */
export const BPF_MAP_INFO = layout({ struct: 'bpf_map_info' }, 88, 'prefix', {
  type: u32(0),
  id: u32(4),
  key_size: u32(8),
  value_size: u32(12),
  max_entries: u32(16),
  map_flags: u32(20),
  name: bytes(24, 16),
  btf_vmlinux_value_type_id: u32(44),
  btf_id: u32(64),
});

/** struct bpf_link_info: the common head and the per-type parts bpfkit reads (XDP, tcx, netkit). */
export const BPF_LINK_INFO = layout({ struct: 'bpf_link_info' }, 64, 'prefix', {
  type: u32(0),
  id: u32(4),
  prog_id: u32(8),
  'xdp.ifindex': u32(16),
  'tcx.ifindex': u32(16),
  'tcx.attach_type': u32(20),
  'netkit.ifindex': u32(16),
  'netkit.attach_type': u32(20),
});
