/**
 * The fixed structs of the BTF format that bpfkit writes itself (include/uapi/linux/btf.h, bpf.h):
 * the header of a raw BTF blob and the func_info records BPF_PROG_LOAD takes.
 */
import { layout, u16, u32, u8 } from './layout.js';

/** struct btf_header. */
export const BTF_HEADER = layout({ struct: 'btf_header' }, 24, 'exact', {
  magic: u16(0),
  version: u8(2),
  flags: u8(3),
  hdr_len: u32(4),
  type_off: u32(8),
  type_len: u32(12),
  str_off: u32(16),
  str_len: u32(20),
});

/** struct bpf_func_info: one subprogram's first instruction and its BTF FUNC. */
export const BPF_FUNC_INFO = layout({ struct: 'bpf_func_info' }, 8, 'exact', {
  insn_off: u32(0),
  type_id: u32(4),
});

/** struct bpf_line_info: the C source line (strings in the program's BTF) of one instruction. */
export const BPF_LINE_INFO = layout({ struct: 'bpf_line_info' }, 16, 'exact', {
  insn_off: u32(0),
  file_name_off: u32(4),
  line_off: u32(8),
  line_col: u32(12),
});
