/**
 * The helper prototypes beyond the VM's set (src/verifier/helpers.ts): for each, small programs the kernel
 * accepts and some it refuses (wrong program type, memory too small or missing, a size that is not a
 * bounded constant, a map of the wrong type, a packet pointer where the helper takes none, a non-GPL
 * license for a GPL-only helper). bpfkit's verdict is held to the expectation here, and as root the running
 * kernel judges every program too: same verdict, same instruction, same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifierMap, type VerifyResult } from '../../src/verifier/index.js';
import { encodeProgram, type Instruction } from '../../src/isa/index.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { createMap, kernelHelperProbe, loadProgram, VerifierError } from '../../src/kernel/index.js';
import { needs } from '../support/env.js';
import { build } from './boundary-programs.js';
import { kernelVerdictRaw, parseKernelLog, type KernelVerdict } from './kernel-oracle.js';
import { assertKernelAgrees, lastLine } from './expect.js';

const { SOCKET_FILTER: SOCK, KPROBE, SCHED_CLS: TC, TRACEPOINT: TP, XDP, PERF_EVENT: PE, CGROUP_SKB: CG } = ProgType;
const { SK_SKB, RAW_TRACEPOINT: RAW } = ProgType;

/** ok, or refused at `pc` with a last message line matching `re`. */
type Want = { ok: true } | { pc: number; re: RegExp };

interface Case {
  name: string;
  type: number;
  text: string;
  maps?: VerifierMap[];
  license?: string;
  want: Want;
}

const map = (type: number, keySize: number, valueSize: number, extra: Partial<VerifierMap> = {}): VerifierMap => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries: 4,
  readOnly: false,
  ...extra,
});
const PERF = map(MapType.PERF_EVENT_ARRAY, 4, 4);
const ARRAY16 = map(MapType.ARRAY, 4, 16);
const CGARRAY = map(MapType.CGROUP_ARRAY, 4, 4);
const STACKS = map(MapType.STACK_TRACE, 4, 8 * 16);
const DEVMAP = map(MapType.DEVMAP, 4, 4);
const CGSTORE = map(MapType.CGROUP_STORAGE, 8, 16, { maxEntries: 0 });

const OK: Want = { ok: true };
const at = (pc: number, re: RegExp): Want => ({ pc, re });
const notForType = (pc: number, name: string, id: number) =>
  at(pc, new RegExp(`^program of this type cannot use helper bpf_${name}#${id}$`));
const GPL_ONLY = /^cannot call GPL-restricted function from non-GPL compatible program$/;

/** r1 = fp-16, r2 = size: a 16-byte stack buffer for a helper that fills it. */
const buf16 = (size: number | string) => `r1 = r10\nr1 += -16\nr2 = ${size}`;
const tail = 'r0 = 0\nexit';
/** `call id` with no arguments, then exit. */
const bare = (id: number) => `call ${id}\n${tail}`;
/** Bounds-checked packet pointers in r2 (data) and r3 (data_end) of a tc program, 14 bytes proven. */
const tcPacket = `
  r2 = *(u32 *)(r1 + 76)
  r3 = *(u32 *)(r1 + 80)
  r4 = r2
  r4 += 14
  if r4 > r3 goto +LAST`;
/** Look up key 0 of map 0 into r7 (the program exits when NULL). */
const lookup = `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r2 = r10
  r2 += -8
  r1 = map 0
  call 1
  if r0 == 0 goto +LAST
  r7 = r0`;

/** `+LAST` jumps to the final `exit`: resolved once the program is whole. */
function program(text: string): Instruction[] {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines.length - 1;
  return build(lines.map((l, i) => l.replace('+LAST', `+${last - i - 1}`)).join('\n'));
}

const CASES: Case[] = [
  // --- probe_read family: (dst uninit mem, size or zero, unsafe ptr) ---
  {
    name: 'probe_read_kernel: 16 bytes into the stack',
    type: TP,
    text: `${buf16(16)}\nr3 = 0\ncall 113\n${tail}`,
    want: OK,
  },
  {
    name: 'probe_read_kernel: 24 bytes into 16',
    type: TP,
    text: `${buf16(24)}\nr3 = 0\ncall 113\n${tail}`,
    want: at(4, /^invalid write to stack R1 off=-16 size=24$/),
  },
  {
    name: 'probe_read_kernel: an unbounded size',
    type: TP,
    text: `r2 = *(u64 *)(r1 + 8)\nr1 = r10\nr1 += -16\nr3 = 0\ncall 113\n${tail}`,
    want: at(4, /^R2 min value is negative, either use unsigned or 'var &= const'$/),
  },
  {
    name: 'probe_read_kernel: a bounded variable size',
    type: TP,
    text: `r2 = *(u64 *)(r1 + 8)\nr2 &= 15\nr1 = r10\nr1 += -16\nr3 = 0\ncall 113\n${tail}`,
    want: OK,
  },
  {
    name: 'probe_read_kernel: zero bytes at fp+0',
    type: TP,
    text: `r1 = r10\nr2 = 0\nr3 = 0\ncall 113\n${tail}`,
    want: at(3, /^invalid write to stack R1 off=0 size=0$/),
  },
  {
    name: 'probe_read_kernel: a non-GPL program',
    type: TP,
    text: `${buf16(16)}\nr3 = 0\ncall 113\n${tail}`,
    license: 'Dual BSD/MIT',
    want: at(4, GPL_ONLY),
  },
  {
    name: 'probe_read_kernel: a socket filter (CAP_PERFMON)',
    type: SOCK,
    text: `${buf16(8)}\nr3 = 0\ncall 113\n${tail}`,
    want: OK,
  },
  {
    name: 'probe_read_user: no destination',
    type: TP,
    text: `r1 = 0\nr2 = 8\nr3 = 0\ncall 112\n${tail}`,
    want: at(3, /^R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_$/),
  },
  {
    // Not ARG_PTR_TO_MEM_OR_NULL: a NULL destination is refused even with a zero size.
    name: 'probe_read_user: NULL and zero',
    type: TP,
    text: `r1 = 0\nr2 = 0\nr3 = 0\ncall 112\n${tail}`,
    want: at(3, /^R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_$/),
  },
  { name: 'probe_read: a tracepoint', type: TP, text: `${buf16(16)}\nr3 = 0\ncall 4\n${tail}`, want: OK },
  {
    name: 'probe_read: a socket filter',
    type: SOCK,
    text: `${buf16(16)}\nr3 = 0\ncall 4\n${tail}`,
    want: notForType(4, 'probe_read', 4),
  },
  {
    name: 'probe_read_str: raw tracepoint, result bounds a map value offset',
    type: RAW,
    text: `${lookup}\nr1 = r10\nr1 += -16\nr2 = 15\nr3 = 0\ncall 45\nif r0 s< 0 goto +LAST\nr7 += r0\nr0 = *(u8 *)(r7 + 0)\n${tail}`,
    maps: [ARRAY16],
    want: OK,
  },
  {
    // The result's 32-bit signed bounds are [-4095, 15] too (do_refine_retval_range sets both halves):
    // a JMP32 check of its sign is enough to index with its low half.
    name: 'probe_read_str: a 32-bit sign check bounds w0 for a map value offset',
    type: RAW,
    text: `${lookup}\nr1 = r10\nr1 += -16\nr2 = 15\nr3 = 0\ncall 45\nif w0 s< 0 goto +LAST\nw0 = w0\nr7 += r0\nr0 = *(u8 *)(r7 + 0)\n${tail}`,
    maps: [ARRAY16],
    want: OK,
  },
  {
    name: 'probe_read_kernel_str: result may reach the value end',
    type: TP,
    text: `${lookup}\nr1 = r10\nr1 += -16\nr2 = 16\nr3 = 0\ncall 115\nif r0 s< 0 goto +LAST\nr7 += r0\nr0 = *(u8 *)(r7 + 0)\n${tail}`,
    maps: [ARRAY16],
    want: at(16, /^R7 max value is outside of the allowed memory range$/),
  },
  {
    name: 'probe_read_user_str: negative result unchecked',
    type: TP,
    text: `${lookup}\nr1 = r10\nr1 += -16\nr2 = 8\nr3 = 0\ncall 114\nr7 += r0\nr0 = *(u8 *)(r7 + 0)\n${tail}`,
    maps: [ARRAY16],
    want: at(15, /^R7 min value is negative, either use unsigned index or do a if \(index >=0\) check\.$/),
  },
  {
    name: 'probe_read_kernel: into a read-only map value',
    type: TP,
    text: `${lookup}\nr1 = r7\nr2 = 8\nr3 = 0\ncall 113\n${tail}`,
    maps: [map(MapType.ARRAY, 4, 16, { readOnly: true })],
    want: at(12, /^write into map forbidden, value_size=16 off=0 size=8$/),
  },
  // --- task and time helpers of every type ---
  { name: 'get_current_comm: 16 bytes', type: TP, text: `${buf16(16)}\ncall 16\n${tail}`, want: OK },
  { name: 'get_current_comm: an XDP program', type: XDP, text: `${buf16(16)}\ncall 16\n${tail}`, want: OK },
  {
    name: 'get_current_comm: zero bytes',
    type: TP,
    text: `${buf16(0)}\ncall 16\n${tail}`,
    want: at(3, /^R2 invalid zero-sized read: u64=\[0,0\]$/),
  },
  {
    name: 'get_current_comm: r2 unset',
    type: TP,
    text: `r1 = r10\nr1 += -16\ncall 16\n${tail}`,
    want: at(2, /^R2 !read_ok$/),
  },
  { name: 'get_current_task', type: CG, text: bare(35), want: OK },
  { name: 'get_current_task: non-GPL', type: TP, text: bare(35), license: 'Proprietary', want: at(0, GPL_ONLY) },
  { name: 'get_current_cgroup_id: non-GPL', type: SOCK, text: bare(80), license: 'Proprietary', want: OK },
  { name: 'get_current_ancestor_cgroup_id', type: TP, text: `r1 = 1\n${bare(123)}`, want: OK },
  {
    name: 'get_ns_current_pid_tgid: 8 of 16 bytes',
    type: KPROBE,
    text: `r1 = 0\nr2 = 0\nr3 = r10\nr3 += -16\nr4 = 8\ncall 120\n${tail}`,
    want: OK,
  },
  { name: 'send_signal', type: TP, text: `r1 = 10\n${bare(109)}`, want: OK },
  { name: 'send_signal_thread: r1 unset', type: TP, text: `r1 = 10\nr1 = 0\nr0 = r1\n${bare(117)}`, want: OK },
  { name: 'jiffies64', type: TC, text: bare(118), want: OK },
  { name: 'ktime_get_tai_ns', type: RAW, text: bare(208), want: OK },
  { name: 'ktime_get_coarse_ns: XDP', type: XDP, text: bare(160), want: OK },
  {
    name: 'ktime_get_coarse_ns: a tracepoint',
    type: TP,
    text: bare(160),
    want: notForType(0, 'ktime_get_coarse_ns', 160),
  },
  // --- perf and stack maps ---
  { name: 'perf_event_read', type: TP, text: `r1 = map 0\nr2 = 0\ncall 22\n${tail}`, maps: [PERF], want: OK },
  {
    name: 'perf_event_read: an array',
    type: TP,
    text: `r1 = map 0\nr2 = 0\ncall 22\n${tail}`,
    maps: [ARRAY16],
    want: at(3, /^cannot pass map_type 2 into func bpf_perf_event_read#22$/),
  },
  {
    name: 'perf_event_read: a perf array to map_lookup_elem',
    type: TP,
    text: `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\n${tail}`,
    maps: [PERF],
    want: at(6, /^cannot pass map_type 4 into func bpf_map_lookup_elem#1$/),
  },
  {
    name: 'perf_event_read_value: 24 bytes',
    type: PE,
    text: `r1 = map 0\nr2 = 0\nr3 = r10\nr3 += -24\nr4 = 24\ncall 55\n${tail}`,
    maps: [PERF],
    want: OK,
  },
  {
    name: 'current_task_under_cgroup',
    type: SOCK,
    text: `r1 = map 0\nr2 = 0\ncall 37\n${tail}`,
    maps: [CGARRAY],
    want: OK,
  },
  {
    name: 'current_task_under_cgroup: a perf array',
    type: TP,
    text: `r1 = map 0\nr2 = 0\ncall 37\n${tail}`,
    maps: [PERF],
    want: at(3, /^cannot pass map_type 4 into func bpf_current_task_under_cgroup#37$/),
  },
  { name: 'get_stackid: tracepoint', type: TP, text: `r2 = map 0\nr3 = 0\ncall 27\n${tail}`, maps: [STACKS], want: OK },
  {
    name: 'get_stackid: perf_event, non-GPL',
    type: PE,
    text: `r2 = map 0\nr3 = 0\ncall 27\n${tail}`,
    maps: [STACKS],
    license: 'MIT',
    want: OK,
  },
  {
    name: 'get_stackid: raw tracepoint, non-GPL',
    type: RAW,
    text: `r2 = map 0\nr3 = 0\ncall 27\n${tail}`,
    maps: [STACKS],
    license: 'MIT',
    want: at(3, GPL_ONLY),
  },
  {
    name: 'get_stackid: an array',
    type: KPROBE,
    text: `r2 = map 0\nr3 = 0\ncall 27\n${tail}`,
    maps: [ARRAY16],
    want: at(3, /^cannot pass map_type 2 into func bpf_get_stackid#27$/),
  },
  {
    name: 'get_stackid: ctx moved',
    type: TP,
    text: `r1 += 8\nr2 = map 0\nr3 = 0\ncall 27\n${tail}`,
    maps: [STACKS],
    want: at(4, /^dereference of modified ctx ptr R1 off=8 disallowed$/),
  },
  {
    name: 'get_stackid: XDP',
    type: XDP,
    text: `r2 = map 0\nr3 = 0\ncall 27\n${tail}`,
    maps: [STACKS],
    want: notForType(3, 'get_stackid', 27),
  },
  // --- tracing context helpers ---
  { name: 'get_func_ip: kprobe', type: KPROBE, text: bare(173), want: OK },
  {
    name: 'get_func_ip: tracepoint',
    type: TP,
    text: bare(173),
    want: at(0, /^func bpf_get_func_ip#173 not supported for program type 5$/),
  },
  {
    name: 'get_func_ip: r1 not ctx',
    type: KPROBE,
    text: `r1 = 0\n${bare(173)}`,
    want: at(1, /^R1 type=scalar expected=ctx$/),
  },
  { name: 'get_attach_cookie: tracepoint', type: TP, text: bare(174), want: OK },
  { name: 'get_attach_cookie: raw tracepoint', type: RAW, text: bare(174), want: OK },
  { name: 'get_attach_cookie: perf_event', type: PE, text: bare(174), want: OK },
  { name: 'get_attach_cookie: tc', type: TC, text: bare(174), want: notForType(0, 'get_attach_cookie', 174) },
  {
    name: 'perf_prog_read_value',
    type: PE,
    text: `r2 = r10\nr2 += -24\nr3 = 24\ncall 56\n${tail}`,
    want: OK,
  },
  {
    name: 'perf_prog_read_value: a tracepoint',
    type: TP,
    text: `r2 = r10\nr2 += -24\nr3 = 24\ncall 56\n${tail}`,
    want: notForType(3, 'perf_prog_read_value', 56),
  },
  // --- strtol/strtoul (an aligned s64/u64 written) and the per-CPU lookup ---
  {
    name: 'strtol: a string on the stack, an aligned result',
    type: TP,
    text: `r1 = 0x3231\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 105\n${tail}`,
    want: OK,
  },
  {
    name: 'strtoul: a misaligned result',
    type: SOCK,
    text: `r1 = 0x3231\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -20\ncall 106\n${tail}`,
    want: at(8, /^misaligned stack access off 0\+-20\+0 size 8$/),
  },
  {
    name: 'strtol: the result over the string',
    type: TP,
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -4\ncall 105\n${tail}`,
    want: at(6, /^invalid write to stack R4 off=-4 size=8$/),
  },
  {
    name: 'map_lookup_percpu_elem: a per-CPU array, checked',
    type: TP,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr1 = map 0\nr3 = 0\ncall 195\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 8)\n${tail}`,
    maps: [map(MapType.PERCPU_ARRAY, 4, 16)],
    want: OK,
  },
  {
    name: 'map_lookup_percpu_elem: unchecked',
    type: TP,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr1 = map 0\nr3 = 0\ncall 195\nr0 = *(u64 *)(r0 + 8)\n${tail}`,
    maps: [map(MapType.PERCPU_ARRAY, 4, 16)],
    want: at(8, /^R0 invalid mem access 'map_value_or_null'$/),
  },
  {
    name: 'map_lookup_percpu_elem: a plain array',
    type: TP,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr1 = map 0\nr3 = 0\ncall 195\n${tail}`,
    maps: [ARRAY16],
    want: at(7, /^cannot pass map_type 2 into func bpf_map_lookup_percpu_elem#195$/),
  },
  // --- sk_skb redirects through socket maps ---
  {
    name: 'sk_redirect_map: sk_skb',
    type: SK_SKB,
    text: `r2 = map 0\nr3 = 0\nr4 = 0\ncall 52\n${tail}`,
    maps: [map(MapType.SOCKMAP, 4, 4)],
    want: OK,
  },
  {
    name: 'sk_redirect_map: a sockhash',
    type: SK_SKB,
    text: `r2 = map 0\nr3 = 0\nr4 = 0\ncall 52\n${tail}`,
    maps: [map(MapType.SOCKHASH, 4, 4)],
    want: at(4, /^cannot pass map_type 18 into func bpf_sk_redirect_map#52$/),
  },
  {
    name: 'sk_redirect_map: tc',
    type: TC,
    text: `r2 = map 0\nr3 = 0\nr4 = 0\ncall 52\n${tail}`,
    maps: [map(MapType.SOCKMAP, 4, 4)],
    want: notForType(4, 'sk_redirect_map', 52),
  },
  {
    name: 'sk_redirect_hash: a key on the stack',
    type: SK_SKB,
    text: `r2 = 0\n*(u64 *)(r10 - 8) = r2\nr3 = r10\nr3 += -8\nr2 = map 0\nr4 = 0\ncall 72\n${tail}`,
    maps: [map(MapType.SOCKHASH, 4, 4)],
    want: OK,
  },
  // --- cgroup storage: a map value that is never NULL ---
  {
    name: 'get_local_storage: read without a NULL check',
    type: CG,
    text: `r1 = map 0\nr2 = 0\ncall 81\nr0 = *(u64 *)(r0 + 8)\n${tail}`,
    maps: [CGSTORE],
    want: OK,
  },
  {
    name: 'get_local_storage: past the value',
    type: CG,
    text: `r1 = map 0\nr2 = 0\ncall 81\nr0 = *(u64 *)(r0 + 16)\n${tail}`,
    maps: [CGSTORE],
    want: at(4, /^R0 min value is outside of the allowed memory range$/),
  },
  {
    name: 'get_local_storage: non-zero flags',
    type: CG,
    text: `r1 = map 0\nr2 = 1\ncall 81\n${tail}`,
    maps: [CGSTORE],
    want: at(3, /^get_local_storage\(\) doesn't support non-zero flags$/),
  },
  {
    name: 'get_local_storage: tc',
    type: TC,
    text: `r1 = map 0\nr2 = 0\ncall 81\n${tail}`,
    maps: [CGSTORE],
    want: notForType(3, 'get_local_storage', 81),
  },
  {
    name: 'get_local_storage: an array',
    type: CG,
    text: `r1 = map 0\nr2 = 0\ncall 81\n${tail}`,
    maps: [ARRAY16],
    want: at(3, /^cannot pass map_type 2 into func bpf_get_local_storage#81$/),
  },
  // --- tc and sk_buff helpers ---
  { name: 'get_cgroup_classid: tc', type: TC, text: bare(17), want: OK },
  {
    name: 'get_cgroup_classid: tc, r1 not ctx',
    type: TC,
    text: `r1 = 0\n${bare(17)}`,
    want: at(1, /^R1 type=scalar expected=ctx$/),
  },
  { name: 'get_cgroup_classid: XDP (no argument)', type: XDP, text: `r1 = 0\n${bare(17)}`, want: OK },
  {
    name: 'skb_get_tunnel_key',
    type: TC,
    text: `r2 = r10\nr2 += -44\nr3 = 44\nr4 = 0\ncall 20\n${tail}`,
    want: OK,
  },
  {
    name: 'skb_get_tunnel_key: into the packet',
    type: TC,
    text: `${tcPacket}\nr3 = 14\nr4 = 0\ncall 20\n${tail}`,
    want: at(7, /^helper access to the packet is not allowed$/),
  },
  {
    name: 'skb_set_tunnel_key: 44 of 16 bytes',
    type: TC,
    text: `r2 = r10\nr2 += -16\nr3 = 44\nr4 = 0\ncall 21\n${tail}`,
    want: at(4, /^invalid read from stack R2 off=-16 size=44$/),
  },
  {
    name: 'skb_set_tunnel_key: socket filter',
    type: SOCK,
    text: `r2 = r10\nr2 += -16\nr3 = 16\nr4 = 0\ncall 21\n${tail}`,
    want: notForType(4, 'skb_set_tunnel_key', 21),
  },
  { name: 'skb_get_tunnel_opt', type: TC, text: `r2 = r10\nr2 += -16\nr3 = 16\ncall 29\n${tail}`, want: OK },
  { name: 'skb_set_tunnel_opt', type: TC, text: `r2 = r10\nr2 += -16\nr3 = 16\ncall 30\n${tail}`, want: OK },
  { name: 'get_route_realm', type: TC, text: bare(24), want: OK },
  {
    name: 'skb_change_proto: packet pointers die',
    type: TC,
    text: `r6 = r1\n${tcPacket}\nr7 = r2\nr1 = r6\nr2 = 0\nr3 = 0\ncall 31\nr0 = *(u8 *)(r7 + 0)\n${tail}`,
    want: at(11, /^R7 invalid mem access 'scalar'$/),
  },
  { name: 'skb_change_type', type: TC, text: `r2 = 0\n${bare(32)}`, want: OK },
  { name: 'skb_under_cgroup', type: TC, text: `r2 = map 0\nr3 = 0\ncall 33\n${tail}`, maps: [CGARRAY], want: OK },
  {
    name: 'skb_under_cgroup: an array',
    type: TC,
    text: `r2 = map 0\nr3 = 0\ncall 33\n${tail}`,
    maps: [ARRAY16],
    want: at(3, /^cannot pass map_type 2 into func bpf_skb_under_cgroup#33$/),
  },
  { name: 'get_hash_recalc', type: TC, text: bare(34), want: OK },
  { name: 'get_hash_recalc: cgroup_skb', type: CG, text: bare(34), want: notForType(0, 'get_hash_recalc', 34) },
  { name: 'skb_change_tail: sk_skb', type: SK_SKB, text: `r2 = 64\nr3 = 0\n${bare(38)}`, want: OK },
  { name: 'set_hash_invalid', type: TC, text: bare(41), want: OK },
  { name: 'skb_change_head: sk_skb', type: SK_SKB, text: `r2 = 14\nr3 = 0\n${bare(43)}`, want: OK },
  { name: 'get_socket_cookie: socket filter', type: SOCK, text: bare(46), want: OK },
  { name: 'get_socket_cookie: XDP', type: XDP, text: bare(46), want: notForType(0, 'get_socket_cookie', 46) },
  { name: 'get_socket_uid: cgroup_skb', type: CG, text: bare(47), want: OK },
  { name: 'set_hash', type: TC, text: `r2 = 1\n${bare(48)}`, want: OK },
  { name: 'skb_adjust_room', type: TC, text: `r2 = 8\nr3 = 0\nr4 = 0\n${bare(50)}`, want: OK },
  {
    name: 'skb_get_xfrm_state',
    type: TC,
    text: `r2 = 0\nr3 = r10\nr3 += -16\nr4 = 16\nr5 = 0\ncall 66\n${tail}`,
    want: OK,
  },
  { name: 'skb_cgroup_id: cgroup_skb', type: CG, text: bare(79), want: OK },
  { name: 'skb_cgroup_id: socket filter', type: SOCK, text: bare(79), want: notForType(0, 'skb_cgroup_id', 79) },
  { name: 'skb_ancestor_cgroup_id', type: TC, text: `r2 = 1\n${bare(83)}`, want: OK },
  { name: 'skb_ecn_set_ce', type: CG, text: bare(97), want: OK },
  { name: 'csum_level', type: TC, text: `r2 = 0\n${bare(135)}`, want: OK },
  { name: 'skb_cgroup_classid', type: TC, text: bare(151), want: OK },
  { name: 'redirect_neigh: no params', type: TC, text: `r1 = 1\nr2 = 0\nr3 = 0\nr4 = 0\ncall 152\n${tail}`, want: OK },
  {
    name: 'redirect_neigh: NULL params with a size',
    type: TC,
    text: `r1 = 1\nr2 = 0\nr3 = 8\nr4 = 0\ncall 152\n${tail}`,
    want: at(4, /^R2 type=scalar expected=fp$/),
  },
  { name: 'redirect_peer', type: TC, text: `r1 = 1\nr2 = 0\n${bare(155)}`, want: OK },
  { name: 'skb_set_tstamp', type: TC, text: `r2 = 0\nr3 = 0\n${bare(192)}`, want: OK },
  // --- fib_lookup (params read: plain ARG_PTR_TO_MEM) and check_mtu (an aligned u32 written) ---
  {
    name: 'fib_lookup: tc, 64 bytes',
    type: TC,
    text: `r2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 69\n${tail}`,
    want: OK,
  },
  {
    name: 'fib_lookup: XDP, params in a read-only map value (written back)',
    type: XDP,
    text: `${lookup}\nr1 = r6\nr2 = r7\nr3 = 16\nr4 = 0\ncall 69\n${tail}`.replace('r1 = 0\n', 'r6 = r1\nr1 = 0\n'),
    maps: [map(MapType.ARRAY, 4, 16, { readOnly: true })],
    want: at(14, /^write into map forbidden, value_size=16 off=0 size=16$/),
  },
  {
    name: 'fib_lookup: XDP, params in a map value',
    type: XDP,
    text: `${lookup}\nr1 = r6\nr2 = r7\nr3 = 16\nr4 = 0\ncall 69\n${tail}`.replace('r1 = 0\n', 'r6 = r1\nr1 = 0\n'),
    maps: [ARRAY16],
    want: OK,
  },
  {
    name: 'fib_lookup: a zero size',
    type: TC,
    text: `r2 = r10\nr2 += -64\nr3 = 0\nr4 = 0\ncall 69\n${tail}`,
    want: at(4, /^R3 invalid zero-sized read: u64=\[0,0\]$/),
  },
  {
    name: 'fib_lookup: non-GPL',
    type: XDP,
    text: `r2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 69\n${tail}`,
    license: 'MIT',
    want: at(4, GPL_ONLY),
  },
  {
    name: 'fib_lookup: cgroup_skb',
    type: CG,
    text: `r2 = r10\nr2 += -64\nr3 = 64\nr4 = 0\ncall 69\n${tail}`,
    want: notForType(4, 'fib_lookup', 69),
  },
  {
    name: 'check_mtu: an aligned stack u32',
    type: TC,
    text: `r2 = 0\nr3 = r10\nr3 += -4\nr4 = 0\nr5 = 0\ncall 163\n${tail}`,
    want: OK,
  },
  {
    name: 'check_mtu: a misaligned stack u32',
    type: XDP,
    text: `r2 = 0\nr3 = r10\nr3 += -6\nr4 = 0\nr5 = 0\ncall 163\n${tail}`,
    want: at(5, /^misaligned stack access off 0\+-6\+0 size 4$/),
  },
  {
    name: 'check_mtu: a misaligned map value u32',
    type: TC,
    text: `${lookup}\nr1 = r6\nr2 = 0\nr3 = r7\nr3 += 2\nr4 = 0\nr5 = 0\ncall 163\n${tail}`.replace(
      'r1 = 0\n',
      'r6 = r1\nr1 = 0\n',
    ),
    maps: [ARRAY16],
    want: at(16, /^misaligned value access off 0\+2\+0 size 4$/),
  },
  {
    name: 'check_mtu: the u32 past the value end',
    type: TC,
    text: `${lookup}\nr1 = r6\nr2 = 0\nr3 = r7\nr3 += 16\nr4 = 0\nr5 = 0\ncall 163\n${tail}`.replace(
      'r1 = 0\n',
      'r6 = r1\nr1 = 0\n',
    ),
    maps: [ARRAY16],
    want: at(16, /^R3 min value is outside of the allowed memory range$/),
  },
  {
    name: 'check_mtu: into a read-only map value',
    type: TC,
    text: `${lookup}\nr1 = r6\nr2 = 0\nr3 = r7\nr4 = 0\nr5 = 0\ncall 163\n${tail}`.replace(
      'r1 = 0\n',
      'r6 = r1\nr1 = 0\n',
    ),
    maps: [map(MapType.ARRAY, 4, 16, { readOnly: true })],
    want: at(15, /^write into map forbidden, value_size=16 off=0 size=4$/),
  },
  {
    name: 'check_mtu: NULL',
    type: TC,
    text: `r2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall 163\n${tail}`,
    want: at(4, /^R3 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_$/),
  },
  // --- GPL-only helpers the VM implements too ---
  {
    name: 'trace_printk: a non-GPL socket filter',
    type: SOCK,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall 6\n${tail}`,
    license: 'BSD',
    want: at(5, GPL_ONLY),
  },
  {
    name: 'perf_event_output: a non-GPL tc program',
    type: TC,
    text: `r2 = map 0\nr3 = 0\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n${tail}`,
    maps: [PERF],
    license: 'BSD',
    want: at(6, GPL_ONLY),
  },
  {
    name: 'perf_event_output: a GPL-compatible dual license',
    type: TC,
    text: `r2 = map 0\nr3 = 0\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n${tail}`,
    maps: [PERF],
    license: 'Dual MIT/GPL',
    want: OK,
  },
  // --- the queue helpers' packet access (pkt_access: push yes, pop and peek no) ---
  {
    name: 'map_push_elem: a value from the packet',
    type: TC,
    text: `${tcPacket}\nr1 = map 0\nr3 = 0\ncall 87\n${tail}`,
    maps: [map(MapType.QUEUE, 0, 8)],
    want: OK,
  },
  {
    name: 'map_pop_elem: into the packet',
    type: TC,
    text: `${tcPacket}\nr1 = map 0\ncall 88\n${tail}`,
    maps: [map(MapType.QUEUE, 0, 8)],
    want: at(7, /^helper access to the packet is not allowed$/),
  },
  {
    name: 'map_peek_elem: into the packet',
    type: TC,
    text: `${tcPacket}\nr1 = map 0\ncall 89\n${tail}`,
    maps: [map(MapType.QUEUE, 0, 8)],
    want: at(7, /^helper access to the packet is not allowed$/),
  },
  // --- XDP ---
  {
    name: 'redirect_map: a devmap',
    type: XDP,
    text: `r1 = map 0\nr2 = 0\nr3 = 0\ncall 51\n${tail}`,
    maps: [DEVMAP],
    want: OK,
  },
  {
    name: 'redirect_map: an array',
    type: XDP,
    text: `r1 = map 0\nr2 = 0\nr3 = 0\ncall 51\n${tail}`,
    maps: [ARRAY16],
    want: at(4, /^cannot pass map_type 2 into func bpf_redirect_map#51$/),
  },
  {
    name: 'redirect_map: tc',
    type: TC,
    text: `r1 = map 0\nr2 = 0\nr3 = 0\ncall 51\n${tail}`,
    maps: [DEVMAP],
    want: notForType(4, 'redirect_map', 51),
  },
  { name: 'xdp_get_buff_len', type: XDP, text: bare(188), want: OK },
  {
    name: 'xdp_load_bytes',
    type: XDP,
    text: `r2 = 0\nr3 = r10\nr3 += -16\nr4 = 16\ncall 189\n${tail}`,
    want: OK,
  },
  {
    name: 'xdp_load_bytes: into the packet',
    type: XDP,
    text: `r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +4\nr3 = r2\nr2 = 0\nr4 = 14\ncall 189\n${tail}`,
    want: at(8, /^helper access to the packet is not allowed$/),
  },
  {
    name: 'xdp_store_bytes: a stack buffer',
    type: XDP,
    text: `r2 = 0\nr3 = r10\nr3 += -16\nr4 = 16\ncall 190\n${tail}`,
    want: OK,
  },
  {
    name: 'xdp_store_bytes: tc',
    type: TC,
    text: `r2 = 0\nr3 = r10\nr3 += -16\nr4 = 16\ncall 190\n${tail}`,
    want: notForType(4, 'xdp_store_bytes', 190),
  },
];

function bpfkitVerdict(c: Case, probe?: (type: number, id: number) => boolean): VerifyResult {
  return verifyInstructions(program(c.text), {
    type: c.type,
    maps: c.maps ?? [],
    license: c.license,
    helperAvailable: probe,
  });
}

/** The kernel's verdict (kernel-oracle.ts loads as GPL; another license is loaded here, maps created alike). */
function kernelVerdict(c: Case): KernelVerdict {
  const insns = program(c.text);
  if (!c.license) return kernelVerdictRaw(insns, c.type, c.maps ?? []);
  const fds = (c.maps ?? []).map((m) =>
    createMap({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries }),
  );
  try {
    const patched = insns.map((i) => (i.code === 0x18 && i.src === 1 ? { ...i, imm: fds[i.imm] ?? -1 } : i));
    const { fd } = loadProgram({ name: 'lic', type: c.type, insns: encodeProgram(patched), license: c.license });
    closeFd(fd);
    return { accepted: true, log: '', ms: 0 };
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    return { accepted: false, log: err.log, ms: 0, ...parseKernelLog(err.log) };
  } finally {
    for (const fd of fds) closeFd(fd);
  }
}

test('helper prototypes: bpfkit says what each case expects', () => {
  for (const c of CASES) {
    const v = bpfkitVerdict(c);
    if ('ok' in c.want) {
      assert.equal(v.accepted, true, `${c.name}: bpfkit refused at ${v.pc}: ${v.message}`);
      continue;
    }
    assert.equal(v.accepted, false, `${c.name}: bpfkit accepted`);
    assert.notEqual(v.unmodelled, true, `${c.name}: ${v.message}`);
    assert.match(lastLine(v.message)!, c.want.re, c.name);
    assert.equal(v.pc, c.want.pc, `${c.name}: insn`);
  }
});

test('helper prototypes: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  const probe = kernelHelperProbe();
  for (const c of CASES) {
    const k = kernelVerdict(c);
    const v = bpfkitVerdict(c, probe);
    assertKernelAgrees(c.name, v, k);
  }
});

test('helper prototypes: a helper bpfkit does not model is refused as not modelled, naming what it lacks', () => {
  // Without the kernel's BTF given, bpf_get_current_task_btf has no struct to type its task by.
  const v = verifyInstructions(program(bare(158)), { type: TC });
  assert.equal(v.unmodelled, true);
  assert.match(v.message!, /^helper bpf_get_current_task_btf#158: bpfkit does not model this helper: .*by BTF id/);
  const timer = verifyInstructions(program(`r1 = 0\nr2 = 0\nr3 = 0\n${bare(169)}`), { type: TP });
  // The timer helpers are modelled (timer.ts) for a map value; a scalar R1's words are not.
  assert.equal(timer.unmodelled, true);
  assert.match(timer.message!, /^helper bpf_timer_init#169: bpfkit does not model /);
});
