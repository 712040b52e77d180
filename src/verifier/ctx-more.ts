/**
 * The contexts of syscall, flow_dissector, cgroup_device and raw_tracepoint_writable programs (the
 * kernel's syscall_prog_is_valid_access, flow_dissector_is_valid_access, cgroup_dev_is_valid_access and
 * raw_tp_writable_prog_is_valid_access), and the two pointer kinds only they hand out: the flow keys and
 * the tracepoint buffer, whose loads and stores are checked here too (check_flow_keys_access,
 * check_tp_buffer_access).
 */
import { ProgType } from '../uapi/types.js';
import { type CtxField, SCALAR, narrowOk } from './ctx-field.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import type { Reg } from './state.js';
import { tstr } from './tnum.js';

/** BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE. */
export const RAW_TP_WRITABLE = 24;
/** BPF_PROG_TYPE_SYSCALL. */
export const SYSCALL = 31;

/** Program types whose context this file models. */
export const isMoreCtxType = (type: number): boolean =>
  type === SYSCALL || type === ProgType.FLOW_DISSECTOR || type === ProgType.CGROUP_DEVICE || type === RAW_TP_WRITABLE;

/** A syscall program's context is the caller's buffer: any offset below U16_MAX, read or written. */
const SYSCALL_CTX_END = 0xffff;
/** sizeof(struct __sk_buff). */
const SKB_SIZE = 192;
/** __sk_buff: data, data_end and flow_keys, the flow dissector's only fields. */
const SKB_DATA = 76;
const SKB_DATA_END = 80;
const SKB_FLOW_KEYS = 144;
/** sizeof(struct bpf_cgroup_dev_ctx): access_type, major, minor. */
const DEV_CTX_SIZE = 12;
/** Raw tracepoints: up to MAX_BPF_FUNC_ARGS (12) u64 arguments. */
const RAW_TP_ARGS_SIZE = 12 * 8;
/** sizeof(struct bpf_flow_keys). */
export const FLOW_KEYS_SIZE = 56;

/** The field a program of one of this file's types reaches at ctx+off, or undefined when the kernel refuses it. */
export function moreCtxAccess(type: number, off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off % size !== 0) return undefined;
  switch (type) {
    case SYSCALL:
      return off < SYSCALL_CTX_END ? SCALAR : undefined;
    case ProgType.FLOW_DISSECTOR:
      if (off >= SKB_SIZE || write) return undefined;
      // The packet pointers are read whole (4 bytes), the flow keys pointer whole (8); nothing else.
      if (off === SKB_DATA) return size === 4 ? { kind: 'pkt' } : undefined;
      if (off === SKB_DATA_END) return size === 4 ? { kind: 'pkt_end' } : undefined;
      if (off === SKB_FLOW_KEYS) return size === 8 ? { kind: 'flow_keys' } : undefined;
      return undefined;
    case ProgType.CGROUP_DEVICE:
      if (write || off + size > DEV_CTX_SIZE) return undefined;
      // access_type may be read narrowly (type and access bits); major and minor whole.
      if (off < 4) return narrowOk(size) ? SCALAR : undefined;
      return size === 4 ? SCALAR : undefined;
    case RAW_TP_WRITABLE:
      if (write || off >= RAW_TP_ARGS_SIZE) return undefined;
      // The first argument is the tracepoint's writable buffer, read whole; the others are scalars.
      if (off === 0) return size === 8 ? { kind: 'tp_buffer' } : undefined;
      return SCALAR;
    default:
      return undefined;
  }
}

/**
 * A load or store through a flow keys pointer (check_flow_keys_access): inside struct bpf_flow_keys, read
 * or written. Its offset is always fixed: only constants move it (adjust_ptr_min_max_vals).
 */
export function flowKeysAccess(pc: number, off: number, size: number): void {
  if (off < 0 || off + size > FLOW_KEYS_SIZE)
    throw new Rejection(pc, `invalid access to flow keys off=${off} size=${size}`);
}

/**
 * A load or store through a tracepoint buffer pointer (check_tp_buffer_access): at a non-negative fixed
 * offset. How far the buffer reaches is the tracepoint's, checked when the program is attached, not
 * loaded: the verifier only records the furthest byte.
 */
export function tpBufferAccess(pc: number, regno: number, reg: Reg, off: number, size: number): void {
  if (off < 0) throw new Rejection(pc, `R${regno} invalid tracepoint buffer access: off=${off}, size=${size}`);
  if (!isConst(reg.s) || reg.s.t.value !== 0n)
    throw new Rejection(pc, `R${regno} invalid variable buffer offset: off=${off}, var_off=${tstr(reg.s.t)}`);
}
