/**
 * Programs of the types src/verifier/ctx-more.ts (and the lwt_* rules) model — syscall, flow_dissector,
 * cgroup_device, raw_tracepoint_writable, lwt_seg6local and netfilter (src/verifier/netfilter.ts) — each with the verdict the running kernel
 * (6.18) gives: context offsets and sizes, writes to read-only fields, the flow keys and tracepoint
 * buffer pointers, return codes, helpers each type may or may not call, and BPF_F_SLEEPABLE (syscall
 * programs load only with it; a sleepable program names only some map types).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface ProgTypeCase {
  name: string;
  type: number;
  attach?: number;
  /** BPF_PROG_LOAD's prog_flags (BPF_F_SLEEPABLE). */
  flags?: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const ctxBad = (pc: number, off: number, size: number) => at(pc, `invalid bpf_context access off=${off} size=${size}`);
const noHelper = (pc: number, name: string, id: number) =>
  at(pc, `program of this type cannot use helper bpf_${name}#${id}`);

const SLEEPABLE = 1 << 4;
const SYSCALL = 31;
const RAW_TP_W = 24;
/** BPF_PROG_TYPE_NETFILTER: its cases need the kernel's BTF. */
export const NETFILTER = 32;
const { FLOW_DISSECTOR: FLOW, CGROUP_DEVICE: DEV, LWT_SEG6LOCAL: SEG6 } = ProgType;
/** BPF_CGROUP_DEVICE. */
const DEV_ATTACH = 6;

const map = (type: number, keySize: number, valueSize: number): VerifierMap => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries: 4,
  readOnly: false,
});

/** A syscall program (sleepable, as libbpf loads them). */
const sys = (name: string, text: string, want: Want, maps?: VerifierMap[]): ProgTypeCase => ({
  name: `syscall: ${name}`,
  type: SYSCALL,
  flags: SLEEPABLE,
  text,
  want,
  maps,
});
/** flow_dissector: r2 = the flow keys (insn 0). */
const flow = (name: string, text: string, want: Want, maps?: VerifierMap[]): ProgTypeCase => ({
  name: `flow_dissector: ${name}`,
  type: FLOW,
  text,
  want,
  maps,
});
const keys = 'r2 = *(u64 *)(r1 + 144)';
const dev = (name: string, text: string, want: Want): ProgTypeCase => ({
  name: `cgroup_device: ${name}`,
  type: DEV,
  attach: DEV_ATTACH,
  text,
  want,
});
/** raw_tracepoint_writable: r6 = the tracepoint buffer (insn 0). */
const rawW = (name: string, text: string, want: Want): ProgTypeCase => ({
  name: `raw_tp_writable: ${name}`,
  type: RAW_TP_W,
  text,
  want,
});
const buffer = 'r6 = *(u64 *)(r1 + 0)';
/** netfilter (BPF_NETFILTER): r2 = the hook state (insn 0); its first field, `hook`, is a u8. */
const nf = (name: string, text: string, want: Want): ProgTypeCase => ({
  name: `netfilter: ${name}`,
  type: NETFILTER,
  attach: 45,
  text,
  want,
});
const state = 'r2 = *(u64 *)(r1 + 0)';
const seg6 = (name: string, text: string, want: Want): ProgTypeCase => ({
  name: `lwt_seg6local: ${name}`,
  type: SEG6,
  text,
  want,
});
/** r2 = data, r3 = data_end, 14 bytes proven (insns 0-4); the packet read or written at insn 5. */
const packet14 = (use: string) =>
  `r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\n${use}\nr0 = 0\nexit`;

/** The cases, in the order the kernel is asked. */
export const PROG_TYPE_CASES: readonly ProgTypeCase[] = [
  // syscall: the context is the caller's buffer, read and written at any aligned offset below 65535.
  sys(
    'ctx read and written',
    'r2 = *(u64 *)(r1 + 0)\n*(u64 *)(r1 + 8) = r2\n*(u8 *)(r1 + 32767) = 1\nr0 = 0\nexit',
    OK,
  ),
  sys('ctx read far out', 'r2 = *(u64 *)(r1 + 32760)\nr0 = 0\nexit', OK),
  sys('ctx read sign-extended', 'r2 = *(s16 *)(r1 + 2)\nr0 = 0\nexit', OK),
  sys('ctx misaligned', 'r2 = *(u32 *)(r1 + 2)\nr0 = 0\nexit', ctxBad(0, 2, 4)),
  sys('ctx below its start', 'r2 = *(u8 *)(r1 - 1)\nr0 = 0\nexit', ctxBad(0, -1, 1)),
  sys(
    'ctx moved, then read',
    'r1 += 8\nr2 = *(u64 *)(r1 + 0)\nr0 = 0\nexit',
    at(1, 'dereference of modified ctx ptr R1 off=8 disallowed'),
  ),
  sys('any return value', 'r0 = 12345\nexit', OK),
  {
    name: 'syscall: not sleepable',
    type: SYSCALL,
    text: 'r0 = 0\nexit',
    want: at(0, 'Syscall programs can only be sleepable'),
  },
  sys('bpf_sys_close', 'r1 = -1\ncall 168\nr0 = 0\nexit', OK),
  sys(
    'bpf_btf_find_by_name_kind with a name on the stack',
    'r2 = 0x636261\n*(u64 *)(r10 - 8) = r2\nr1 = r10\nr1 += -8\nr2 = 4\nr3 = 1\nr4 = 0\ncall 167\nr0 = 0\nexit',
    OK,
  ),
  sys(
    'bpf_kallsyms_lookup_name into an aligned u64',
    'r2 = 0x636261\n*(u64 *)(r10 - 16) = r2\nr1 = r10\nr1 += -16\nr2 = 4\nr3 = 0\nr4 = r10\nr4 += -8\ncall 179\nr0 = 0\nexit',
    OK,
  ),
  sys(
    'bpf_kallsyms_lookup_name into a misaligned u64',
    'r2 = 0x636261\n*(u64 *)(r10 - 16) = r2\nr1 = r10\nr1 += -16\nr2 = 4\nr3 = 0\nr4 = r10\nr4 += -12\ncall 179\nr0 = 0\nexit',
    at(8, 'misaligned stack access off 0+-12+0 size 8'),
  ),
  sys(
    'bpf_sys_bpf given the ctx as its attr',
    'r2 = r1\nr1 = 0\nr3 = 8\ncall 166\nr0 = 0\nexit',
    at(3, 'R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  ),
  sys(
    'bpf_sys_bpf with a zero size',
    'r2 = r10\nr2 += -8\nr1 = 0\nr3 = 0\ncall 166\nr0 = 0\nexit',
    at(4, 'R3 invalid zero-sized read: u64=[0,0]'),
  ),
  sys('a tc helper', 'call 9\nr0 = 0\nexit', noHelper(0, 'skb_store_bytes', 9)),
  sys('bpf_get_attach_cookie', 'call 174\nr0 = 0\nexit', noHelper(0, 'get_attach_cookie', 174)),
  sys('bpf_get_func_ip', 'call 173\nr0 = 0\nexit', at(0, 'func bpf_get_func_ip#173 not supported for program type 31')),
  sys(
    'bpf_get_stackid, as raw_tp has it',
    'r2 = map 0\nr3 = 0\ncall 27\nr0 = 0\nexit',
    at(0, 'Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps'),
    [map(MapType.STACK_TRACE, 4, 64)],
  ),
  sys('a hash map', 'r1 = map 0\nr2 = r10\nr2 += -8\n*(u64 *)(r10 - 8) = 0\ncall 1\nr0 = 0\nexit', OK, [
    map(MapType.HASH, 8, 8),
  ]),
  sys(
    'a spin lock taken and given back',
    'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nif r0 == 0 goto +7\nr6 = r0\nr1 = r6\nr1 += 4\ncall 93\nr1 = r6\nr1 += 4\ncall 94\nr0 = 0\nexit',
    OK,
    [{ ...map(MapType.HASH, 4, 16), kernelFields: [{ off: 4, size: 4, what: 'struct bpf_spin_lock' }] }],
  ),
  sys(
    'a perf event array',
    'r0 = 0\nr1 = map 0\nexit',
    at(1, 'Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps'),
    [map(MapType.PERF_EVENT_ARRAY, 4, 4)],
  ),
  // A sleepable kprobe (a uprobe.s program) is held to the same maps.
  {
    name: 'sleepable kprobe: a perf event array',
    type: ProgType.KPROBE,
    flags: SLEEPABLE,
    text: 'r0 = 0\nr1 = map 0\nexit',
    maps: [map(MapType.PERF_EVENT_ARRAY, 4, 4)],
    want: at(1, 'Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps'),
  },
  {
    name: 'sleepable kprobe: a hash map',
    type: ProgType.KPROBE,
    flags: SLEEPABLE,
    text: 'r0 = 0\nr1 = map 0\nexit',
    maps: [map(MapType.HASH, 4, 4)],
    want: OK,
  },

  // flow_dissector: data, data_end and the flow keys, all read-only; the packet read-only too.
  flow('packet read', packet14('r0 = *(u8 *)(r2 + 12)'), OK),
  flow('packet written', packet14('*(u8 *)(r2 + 12) = 1'), at(5, 'cannot write into packet')),
  flow(
    'flow keys read and written',
    `${keys}\nr3 = *(u16 *)(r2 + 0)\n*(u16 *)(r2 + 2) = r3\n*(u32 *)(r2 + 52) = r3\nr2 += 16\n*(u64 *)(r2 + 32) = r3\nr0 = 0\nexit`,
    OK,
  ),
  flow(
    'flow keys past their end',
    `${keys}\nr3 = *(u32 *)(r2 + 54)\nr0 = 0\nexit`,
    at(1, 'invalid access to flow keys off=54 size=4'),
  ),
  flow(
    'flow keys moved past their end',
    `${keys}\nr2 += 8\nr3 = *(u64 *)(r2 + 48)\nr0 = 0\nexit`,
    at(2, 'invalid access to flow keys off=56 size=8'),
  ),
  flow(
    'flow keys below their start',
    `${keys}\nr3 = *(u8 *)(r2 - 1)\nr0 = 0\nexit`,
    at(1, 'invalid access to flow keys off=-1 size=1'),
  ),
  flow(
    'flow keys moved by a variable',
    `${keys}\nr6 = r2\ncall 7\nr6 += r0\nr0 = 0\nexit`,
    at(3, 'R6 pointer arithmetic on flow_keys prohibited'),
  ),
  flow(
    'a variable moved by the flow keys',
    `${keys}\nr6 = r2\ncall 7\nr0 += r6\nr0 = 0\nexit`,
    at(3, 'R0 pointer arithmetic on flow_keys prohibited'),
  ),
  flow(
    'an atomic add into the flow keys',
    `${keys}\nr3 = 1\nlock *(u32 *)(r2 + 0) += r3\nr0 = 0\nexit`,
    at(2, 'BPF_ATOMIC stores into R2 flow_keys is not allowed'),
  ),
  flow('flow keys read as 4 bytes', 'r2 = *(u32 *)(r1 + 144)\nr0 = 0\nexit', ctxBad(0, 144, 4)),
  flow('skb->len', 'r2 = *(u32 *)(r1 + 0)\nr0 = 0\nexit', ctxBad(0, 0, 4)),
  flow('data written', '*(u32 *)(r1 + 76) = r1\nr0 = 0\nexit', ctxBad(0, 76, 4)),
  flow('data read as 8 bytes', 'r2 = *(u64 *)(r1 + 76)\nr0 = 0\nexit', ctxBad(0, 76, 8)),
  flow('any return value', 'r0 = 12345\nexit', OK),
  flow('bpf_skb_load_bytes', 'r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = 0\nexit', OK),
  flow('bpf_perf_event_output', 'call 25\nr0 = 0\nexit', noHelper(0, 'perf_event_output', 25)),
  flow('bpf_ktime_get_coarse_ns', 'call 160\nr0 = 0\nexit', OK),
  flow(
    'the flow keys as a map key',
    `${keys}\nr1 = map 0\ncall 1\nr0 = 0\nexit`,
    at(3, 'R2 type=flow_keys expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
    [map(MapType.HASH, 8, 8)],
  ),
  flow(
    'a socket map entry deleted',
    'r1 = map 0\nr2 = r10\nr2 += -4\n*(u32 *)(r10 - 4) = 0\ncall 3\nr0 = 0\nexit',
    OK,
    [map(MapType.SOCKMAP, 4, 4)],
  ),

  // cgroup_device: bpf_cgroup_dev_ctx, read-only; access_type narrowly, major and minor whole.
  dev(
    'every field',
    'r2 = *(u32 *)(r1 + 0)\nr3 = *(u16 *)(r1 + 2)\nr4 = *(u8 *)(r1 + 1)\nr5 = *(u32 *)(r1 + 4)\nr6 = *(u32 *)(r1 + 8)\nr0 = 1\nexit',
    OK,
  ),
  dev('major narrowly', 'r2 = *(u16 *)(r1 + 4)\nr0 = 1\nexit', ctxBad(0, 4, 2)),
  dev('past the end', 'r2 = *(u32 *)(r1 + 12)\nr0 = 1\nexit', ctxBad(0, 12, 4)),
  dev('8 bytes', 'r2 = *(u64 *)(r1 + 0)\nr0 = 1\nexit', ctxBad(0, 0, 8)),
  dev('written', '*(u32 *)(r1 + 0) = 1\nr0 = 1\nexit', ctxBad(0, 0, 4)),
  dev(
    'returns 2',
    'r0 = 2\nexit',
    at(1, 'At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]'),
  ),
  dev('returns the ctx', 'r0 = r1\nexit', at(1, 'At program exit the register R0 is not a known value (ctx)')),
  dev('bpf_get_retval', 'call 186\nr0 = 1\nexit', OK),
  {
    // Attach type 0 is inet ingress, whose hooks have no bpf_get_retval.
    name: 'cgroup_device: bpf_get_retval with no expected attach type',
    type: DEV,
    text: 'call 186\nr0 = 1\nexit',
    want: noHelper(0, 'get_retval', 186),
  },
  dev('bpf_skb_load_bytes', 'call 26\nr0 = 1\nexit', noHelper(0, 'skb_load_bytes', 26)),

  // raw_tracepoint_writable: the first argument is the tracepoint's buffer, the rest raw_tp's.
  rawW(
    'buffer read and written',
    `${buffer}\nr2 = *(u64 *)(r6 + 0)\n*(u64 *)(r6 + 8) = r2\nr6 += 64\n*(u32 *)(r6 + 0) = 1\nr0 = 0\nexit`,
    OK,
  ),
  rawW('buffer pointer read as 4 bytes', 'r6 = *(u32 *)(r1 + 0)\nr0 = 0\nexit', ctxBad(0, 0, 4)),
  rawW(
    'buffer below its start',
    `${buffer}\nr2 = *(u64 *)(r6 - 8)\nr0 = 0\nexit`,
    at(1, 'R6 invalid tracepoint buffer access: off=-8, size=8'),
  ),
  rawW(
    'buffer at a variable offset',
    `${buffer}\ncall 7\nr0 &= 0xff\nr6 += r0\nr2 = *(u8 *)(r6 + 0)\nr0 = 0\nexit`,
    at(4, 'R6 invalid variable buffer offset: off=0, var_off=(0x0; 0xff)'),
  ),
  rawW('second argument', 'r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit', OK),
  rawW('second argument written', '*(u64 *)(r1 + 8) = r1\nr0 = 0\nexit', ctxBad(0, 8, 8)),
  rawW('past the arguments', 'r2 = *(u64 *)(r1 + 96)\nr0 = 0\nexit', ctxBad(0, 96, 8)),
  rawW(
    'bpf_get_func_ip',
    'call 173\nr0 = 0\nexit',
    at(0, 'func bpf_get_func_ip#173 not supported for program type 24'),
  ),
  rawW('bpf_skb_load_bytes', 'call 26\nr0 = 0\nexit', noHelper(0, 'skb_load_bytes', 26)),

  // lwt_seg6local: lwt_is_valid_access; the packet read-only.
  seg6('len read, mark written', 'r2 = *(u32 *)(r1 + 0)\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit', OK),
  seg6('tc_classid', 'r2 = *(u32 *)(r1 + 72)\nr0 = 0\nexit', ctxBad(0, 72, 4)),
  seg6('len written', '*(u32 *)(r1 + 0) = 1\nr0 = 0\nexit', ctxBad(0, 0, 4)),
  seg6('packet read', packet14('r0 = *(u8 *)(r2 + 12)'), OK),
  seg6('packet written', packet14('*(u8 *)(r2 + 12) = 1'), at(5, 'cannot write into packet')),
  seg6('bpf_skb_store_bytes', 'call 9\nr0 = 0\nexit', noHelper(0, 'skb_store_bytes', 9)),
  seg6('bpf_ktime_get_coarse_ns', 'call 160\nr0 = 0\nexit', OK),

  // netfilter: bpf_nf_ctx's two trusted BTF pointers, read whole; NF_DROP or NF_ACCEPT.
  nf('state->hook', `${state}\nr3 = *(u8 *)(r2 + 0)\nr0 = 1\nexit`, OK),
  nf('the skb pointer', 'r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit', OK),
  nf(
    'state->hook as 4 bytes',
    `${state}\nr3 = *(u32 *)(r2 + 0)\nr0 = 1\nexit`,
    at(1, 'access beyond the end of member hook (mend:1) in struct nf_hook_state with off 0 size 4'),
  ),
  nf('state written through', `${state}\n*(u8 *)(r2 + 0) = 1\nr0 = 1\nexit`, at(1, 'only read is supported')),
  nf('state read as 4 bytes', 'r2 = *(u32 *)(r1 + 0)\nr0 = 1\nexit', ctxBad(0, 0, 4)),
  nf('between the pointers', 'r2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit', ctxBad(0, 4, 4)),
  nf('past the context', 'r2 = *(u64 *)(r1 + 16)\nr0 = 1\nexit', ctxBad(0, 16, 8)),
  nf('context written', '*(u64 *)(r1 + 0) = r1\nr0 = 1\nexit', ctxBad(0, 0, 8)),
  nf(
    'returns 2',
    'r0 = 2\nexit',
    at(1, 'At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]'),
  ),
  nf(
    'returns the state',
    `${state}\nr0 = r2\nexit`,
    at(2, 'At program exit the register R0 is not a known value (trusted_ptr_)'),
  ),
  nf('bpf_perf_event_output', 'call 25\nr0 = 1\nexit', noHelper(0, 'perf_event_output', 25)),
  nf('bpf_ktime_get_ns', 'call 5\nr0 = 1\nexit', OK),
];
