/**
 * union bpf_attr (include/uapi/linux/bpf.h): the argument of bpf(2). Each command reads its own member
 * of the union; bpfkit writes only the fields below and passes `size` bytes, the rest zero (the kernel
 * rejects non-zero bytes past the fields a command knows). Every part starts at offset 0 of the union.
 */
import { bytes, layout, u32, u64 } from './layout.js';

const ATTR = 'bpf_attr';

/** The parts of union bpf_attr bpfkit uses, one per command family. */
export const BPF_ATTR = {
  /** BPF_MAP_CREATE, up to map_token_fd. */
  map_create: layout({ union: ATTR, anonymousWith: 'map_type' }, 80, 'prefix', {
    map_type: u32(0),
    key_size: u32(4),
    value_size: u32(8),
    max_entries: u32(12),
    map_flags: u32(16),
    inner_map_fd: u32(20),
    numa_node: u32(24),
    map_name: bytes(28, 16),
    btf_fd: u32(48),
    btf_key_type_id: u32(52),
    btf_value_type_id: u32(56),
    btf_vmlinux_value_type_id: u32(60),
    map_extra: u64(64),
  }),

  /** BPF_MAP_{LOOKUP,UPDATE,DELETE,LOOKUP_AND_DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE. */
  map_elem: layout({ union: ATTR, anonymousWith: 'next_key' }, 32, 'prefix', {
    map_fd: u32(0),
    key: u64(8),
    value: u64(16),
    next_key: u64(16),
    flags: u64(24),
  }),

  /** BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH. */
  batch: layout({ union: ATTR, member: 'batch' }, 56, 'prefix', {
    in_batch: u64(0),
    out_batch: u64(8),
    keys: u64(16),
    values: u64(24),
    count: u32(32),
    map_fd: u32(36),
    elem_flags: u64(40),
    flags: u64(48),
  }),

  /** BPF_PROG_LOAD, up to fd_array_cnt (signature and keyring_id, which came after, stay unsent). */
  prog_load: layout({ union: ATTR, anonymousWith: 'prog_type' }, 152, 'prefix', {
    prog_type: u32(0),
    insn_cnt: u32(4),
    insns: u64(8),
    license: u64(16),
    log_level: u32(24),
    log_size: u32(28),
    log_buf: u64(32),
    kern_version: u32(40),
    prog_flags: u32(44),
    prog_name: bytes(48, 16),
    expected_attach_type: u32(68),
    prog_btf_fd: u32(72),
    func_info_rec_size: u32(76),
    func_info: u64(80),
    func_info_cnt: u32(88),
    line_info_rec_size: u32(92),
    line_info: u64(96),
    line_info_cnt: u32(104),
    attach_btf_id: u32(108),
    fd_array: u64(120),
    log_true_size: u32(140),
  }),

  /** BPF_OBJ_PIN and BPF_OBJ_GET. */
  obj: layout({ union: ATTR, anonymousWith: 'pathname' }, 24, 'prefix', {
    pathname: u64(0),
    bpf_fd: u32(8),
    file_flags: u32(12),
  }),

  /** BPF_{PROG,MAP,LINK,BTF}_GET_NEXT_ID and BPF_{PROG,MAP,LINK,BTF}_GET_FD_BY_ID. */
  get_id: layout({ union: ATTR, anonymousWith: 'next_id' }, 16, 'prefix', {
    start_id: u32(0),
    prog_id: u32(0),
    map_id: u32(0),
    btf_id: u32(0),
    link_id: u32(0),
    next_id: u32(4),
  }),

  /** BPF_OBJ_GET_INFO_BY_FD. */
  info: layout({ union: ATTR, member: 'info' }, 16, 'prefix', {
    bpf_fd: u32(0),
    info_len: u32(4),
    info: u64(8),
  }),

  /** BPF_PROG_TEST_RUN. */
  test: layout({ union: ATTR, member: 'test' }, 80, 'prefix', {
    prog_fd: u32(0),
    retval: u32(4),
    data_size_in: u32(8),
    data_size_out: u32(12),
    data_in: u64(16),
    data_out: u64(24),
    repeat: u32(32),
    duration: u32(36),
    ctx_size_in: u32(40),
    ctx_size_out: u32(44),
    ctx_in: u64(48),
    ctx_out: u64(56),
    flags: u32(64),
  }),

  /** BPF_BTF_LOAD, up to btf_log_true_size. */
  btf_load: layout({ union: ATTR, anonymousWith: 'btf_size' }, 32, 'prefix', {
    btf: u64(0),
    btf_log_buf: u64(8),
    btf_size: u32(16),
    btf_log_size: u32(20),
    btf_log_level: u32(24),
  }),

  /** BPF_LINK_CREATE: the common head (the per-link-type union after it stays zero). */
  link_create: layout({ union: ATTR, member: 'link_create' }, 64, 'prefix', {
    prog_fd: u32(0),
    /** BPF_STRUCT_OPS links: the struct_ops map (the same slot as prog_fd). */
    map_fd: u32(0),
    target_ifindex: u32(4),
    attach_type: u32(8),
    flags: u32(12),
  }),

  /** BPF_LINK_DETACH. */
  link_detach: layout({ union: ATTR, member: 'link_detach' }, 4, 'prefix', {
    link_fd: u32(0),
  }),
};
