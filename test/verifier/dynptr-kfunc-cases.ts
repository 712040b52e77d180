/**
 * Programs of the bpf_dynptr_* kfuncs (src/verifier/dynptr-kfunc.ts, dynptr-slice.ts), each with the
 * verdict the running kernel (6.18) gives: skb and xdp dynptrs made from the context (which program
 * types may, what the arguments must be), slices (maybe NULL, read-only, of the constant size; the
 * buffer and its size), what kills a slice (packet data moving, bpf_dynptr_write to an skb dynptr, a
 * store into its stack buffer, its ring buffer dynptr given back) and what does not (a store over its
 * dynptr, a store beside the buffer), clones (the parent's type and reference), adjust / is_null /
 * is_rdonly / size. `kcall NAME` is a kfunc call (iter-kfunc-cases.ts's iterProgram relocates it).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface DynptrKfuncCase {
  name: string;
  type: number;
  text: string;
  want: Want;
  /** tp_btf programs: the tracepoint (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP). */
  tp?: string;
}

/** BPF_PROG_TYPE_TRACING and BPF_TRACE_RAW_TP. */
export const TRACING = 26;
export const TRACE_RAW_TP = 23;

/** map 0: a ring buffer; map 1: an array of 32-byte values. */
export const DYNPTR_KFUNC_MAPS: VerifierMap[] = [
  { name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false },
  { name: 'arr', type: MapType.ARRAY, keySize: 4, valueSize: 32, maxEntries: 1, readOnly: false },
];

const OK: Want = { ok: true };
const UNMODELLED: Want = { unmodelled: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });

const TC = ProgType.SCHED_CLS;
const XDP = ProgType.XDP;

/** The context kept in r6 (insn 0). */
const H = 'r6 = r1';
const END = 'r0 = 0\nexit';
/** A slice's read after its NULL check, then the exit (`out`). */
const READ = (reg = 'r0') => `if ${reg} == 0 goto out\nr0 = *(u8 *)(${reg} + 0)\nout:\n${END}`;
/** bpf_dynptr_from_skb(r6, 0, fp + off): five insns, the call last. */
const skb = (off = -16, r1 = 'r1 = r6') =>
  `${r1 ? `${r1}\n` : ''}r2 = 0\nr3 = r10\nr3 += ${off}\nkcall bpf_dynptr_from_skb`;
/** bpf_dynptr_from_skb_meta(r6, 0, fp - 16): five insns, the call last. */
const meta = 'r1 = r6\nr2 = 0\nr3 = r10\nr3 += -16\nkcall bpf_dynptr_from_skb_meta';
/** bpf_dynptr_from_xdp(r6, 0, fp + off): five insns, the call last. */
const xdp = (off = -16) => `r1 = r6\nr2 = 0\nr3 = r10\nr3 += ${off}\nkcall bpf_dynptr_from_xdp`;
/** bpf_dynptr_slice(fp + off, 0, buffer, n): seven insns (six with a NULL buffer), the call last. */
const slice = (off = -16, buf: number | null = -48, n = 8, fn = 'bpf_dynptr_slice') =>
  `r1 = r10\nr1 += ${off}\nr2 = 0\n${buf === null ? 'r3 = 0' : `r3 = r10\nr3 += ${buf}`}\nr4 = ${n}\nkcall ${fn}`;
/** bpf_dynptr_clone(fp + from, fp + to): five insns. */
const clone = (from = -16, to = -32) => `r1 = r10\nr1 += ${from}\nr2 = r10\nr2 += ${to}\nkcall bpf_dynptr_clone`;
/** bpf_dynptr_read(fp + dst, 8, fp + src, 0, 0) (helper 201): eight insns. */
const dread = (dst: number, src = -16) =>
  `r1 = r10\nr1 += ${dst}\nr2 = 8\nr3 = r10\nr3 += ${src}\nr4 = 0\nr5 = 0\ncall 201`;
/** bpf_dynptr_write(fp + dst, 0, fp - 48, 8, 0) (helper 202): eight insns. */
const dwrite = (dst = -16) => `r1 = r10\nr1 += ${dst}\nr2 = 0\nr3 = r10\nr3 += -48\nr4 = 8\nr5 = 0\ncall 202`;
/** bpf_ringbuf_reserve_dynptr(&rb, 8, 0, fp - 16): the call is insn 5. */
const RESERVE = 'r1 = map 0\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 198';
/** bpf_ringbuf_submit_dynptr(fp + off, 0): four insns. */
const submit = (off = -16) => `r1 = r10\nr1 += ${off}\nr2 = 0\ncall 199`;
/** A local dynptr of the array's value at fp - 16 (insns 0-13; NULL goes to `out`). */
const LOCAL = `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 1\ncall 1\nif r0 == 0 goto out\nr1 = r0\nr2 = 32\nr3 = 0\nr4 = r10\nr4 += -16\ncall 197`;
/** One call of `fn` on the dynptr at fp - 16. */
const on = (fn: string, off = -16) => `r1 = r10\nr1 += ${off}\nkcall ${fn}`;

/** Program types for bpf_dynptr_from_skb: allowed (and a __sk_buff context) or not allowed. */
const SKB_OK: [string, number][] = [
  ['socket_filter', ProgType.SOCKET_FILTER],
  ['sched_cls', TC],
  ['sched_act', ProgType.SCHED_ACT],
  ['cgroup_skb', ProgType.CGROUP_SKB],
  ['lwt_in', ProgType.LWT_IN],
  ['lwt_out', ProgType.LWT_OUT],
  ['lwt_xmit', ProgType.LWT_XMIT],
  ['lwt_seg6local', ProgType.LWT_SEG6LOCAL],
  ['sk_skb', ProgType.SK_SKB],
];
const SKB_REFUSED: [string, number][] = [
  ['xdp', XDP],
  ['kprobe', ProgType.KPROBE],
  ['raw_tracepoint', ProgType.RAW_TRACEPOINT],
  ['flow_dissector', ProgType.FLOW_DISSECTOR],
];
/** Types that may call it but whose context is another struct (a cgroup or tracing hook's). */
const SKB_OTHER_CTX: [string, number][] = [
  ['tracepoint', ProgType.TRACEPOINT],
  ['perf_event', ProgType.PERF_EVENT],
  ['cgroup_sock', ProgType.CGROUP_SOCK],
  ['sock_ops', ProgType.SOCK_OPS],
  ['cgroup_device', ProgType.CGROUP_DEVICE],
];

/** The cases, kernel-checked by dynptr-kfunc.test.ts. */
export const DYNPTR_KFUNC_CASES: DynptrKfuncCase[] = [
  ...SKB_OK.map(([n, type]) => ({ name: `from_skb in ${n}`, type, text: `${H}\n${skb()}\n${END}`, want: OK })),
  ...SKB_REFUSED.map(([n, type]) => ({
    name: `from_skb in ${n}: not allowed`,
    type,
    text: `${H}\n${skb()}\n${END}`,
    want: at(5, 'calling kernel function bpf_dynptr_from_skb is not allowed'),
  })),
  ...SKB_OTHER_CTX.map(([n, type]) => ({
    name: `from_skb in ${n}: another context, not modelled`,
    type,
    text: `${H}\n${skb()}\n${END}`,
    want: UNMODELLED,
  })),
  { name: 'from_xdp in xdp', type: XDP, text: `${H}\n${xdp()}\n${END}`, want: OK },
  // skb metadata dynptrs: tc only; their slices point into the packet.
  ...[TC, ProgType.SCHED_ACT].map((type) => ({
    name: `from_skb_meta in type ${type}`,
    type,
    text: `${H}\n${meta}\n${slice()}\n${READ()}`,
    want: OK,
  })),
  ...[ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB, ProgType.LWT_IN, ProgType.SK_SKB, XDP, ProgType.TRACEPOINT].map(
    (type) => ({
      name: `from_skb_meta in type ${type}: not allowed`,
      type,
      text: `${H}\n${meta}\n${END}`,
      want: at(5, 'calling kernel function bpf_dynptr_from_skb_meta is not allowed'),
    }),
  ),
  {
    name: 'skb metadata slice after bpf_skb_pull_data',
    type: TC,
    text: `${H}\n${meta}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = 0\ncall 39\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(18, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'skb metadata slice after bpf_dynptr_write to its dynptr',
    type: TC,
    text: `${H}\n${meta}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(23, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'packet pointer after bpf_dynptr_write to an skb metadata dynptr',
    type: TC,
    text: `${H}\n${meta}\nr7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\nr1 = r7\nr1 += 1\nif r1 > r8 goto out\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(19, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'from_skb_meta of NULL',
    type: TC,
    text: `${H}\n${meta.replace('r1 = r6', 'r1 = 0')}\n${END}`,
    want: at(5, 'Possibly NULL pointer passed to trusted arg0'),
  },
  ...[TC, ProgType.SOCKET_FILTER, ProgType.KPROBE].map((type) => ({
    name: `from_xdp in type ${type}: not allowed`,
    type,
    text: `${H}\n${xdp()}\n${END}`,
    want: at(5, 'calling kernel function bpf_dynptr_from_xdp is not allowed'),
  })),
  // A tracepoint's struct sk_buff (trusted) passes as its projection __sk_buff.
  {
    name: "from_skb of kfree_skb's skb (tp_btf)",
    type: TRACING,
    tp: 'kfree_skb',
    text: `r1 = *(u64 *)(r1 + 0)\n${skb(-16, '')}\n${slice(-16, null)}\n${READ()}`,
    want: OK,
  },
  {
    name: "from_skb of kfree_skb's skb moved (tp_btf, not modelled)",
    type: TRACING,
    tp: 'kfree_skb',
    text: `r1 = *(u64 *)(r1 + 0)\nr1 += 8\n${skb(-16, '')}\n${END}`,
    want: UNMODELLED,
  },
  {
    name: "from_skb of kfree_skb's location (tp_btf, not modelled)",
    type: TRACING,
    tp: 'kfree_skb',
    text: `r1 = *(u64 *)(r1 + 8)\n${skb(-16, '')}\n${END}`,
    want: UNMODELLED,
  },
  // The arguments.
  {
    name: 'from_skb of the stack',
    type: TC,
    text: `${H}\n${skb(-16, 'r1 = r10')}\n${END}`,
    want: at(5, 'arg#0 expected pointer to ctx, but got fp'),
  },
  {
    name: 'from_skb of NULL',
    type: TC,
    text: `${H}\n${skb(-16, 'r1 = 0')}\n${END}`,
    want: at(5, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'from_xdp of NULL (no flags in the sources, yet refused)',
    type: XDP,
    text: `${H}\n${xdp().replace('r1 = r6', 'r1 = 0')}\n${END}`,
    want: at(5, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'from_skb of the context moved',
    type: TC,
    text: `${H}\n${skb(-16, 'r1 = r6\nr1 += 8')}\n${END}`,
    want: at(6, 'dereference of modified ctx ptr R1 off=8 disallowed'),
  },
  {
    name: 'from_skb with a pointer as flags',
    type: TC,
    text: `${H}\n${skb().replace('r2 = 0', 'r2 = r10')}\n${END}`,
    want: at(5, 'R2 is not a scalar'),
  },
  {
    name: 'from_skb at a misaligned offset',
    type: TC,
    text: `${H}\n${skb(-20)}\n${END}`,
    want: at(5, 'Dynptr has to be an uninitialized dynptr'),
  },
  {
    name: 'from_skb with 8 bytes of stack left',
    type: TC,
    text: `${H}\n${skb(-8)}\n${END}`,
    want: at(5, 'Dynptr has to be an uninitialized dynptr'),
  },
  {
    name: 'from_skb into the context',
    type: TC,
    text: `${H}\n${skb().replace('r3 = r10', 'r3 = r6')}\n${END}`,
    want: at(5, 'negative offset ctx ptr R3 off=-16 disallowed'),
  },
  {
    name: 'from_skb into NULL',
    type: TC,
    text: `${H}\n${skb().replace('r3 = r10', 'r3 = 0')}\n${END}`,
    want: at(5, 'arg#2 expected pointer to stack or const struct bpf_dynptr'),
  },
  // Slices.
  { name: 'slice read after its NULL check', type: TC, text: `${H}\n${skb()}\n${slice()}\n${READ()}`, want: OK },
  {
    name: 'slice read without a NULL check',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nr0 = *(u8 *)(r0 + 0)\n${END}`,
    want: at(13, "R0 invalid mem access 'rdonly_mem_or_null'"),
  },
  {
    name: 'slice read past its size',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr0 = *(u8 *)(r0 + 8)\nout:\n${END}`,
    want: at(14, 'R0 min value is outside of the allowed memory range'),
  },
  {
    name: 'slice written',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr1 = 0\n*(u8 *)(r0 + 0) = r1\nout:\n${END}`,
    want: at(15, 'R0 cannot write into rdonly_mem'),
  },
  {
    name: 'slice of 16 read at 8',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -64, 16)}\nif r0 == 0 goto out\nr0 += 8\nr0 = *(u64 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice of size 0 read',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, null, 0)}\n${READ()}`,
    want: at(13, 'R0 min value is outside of the allowed memory range'),
  },
  { name: 'slice with a NULL buffer', type: TC, text: `${H}\n${skb()}\n${slice(-16, null)}\n${READ()}`, want: OK },
  {
    name: 'slice of a local dynptr in a tracepoint',
    type: ProgType.TRACEPOINT,
    text: `${LOCAL}\n${slice(-16, null)}\n${READ()}`,
    want: OK,
  },
  {
    name: 'slice with a buffer smaller than its size',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -20, 8)}\n${END}`,
    want: at(12, 'arg#2 arg#3 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'slice with its buffer over the dynptr',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -16)}\n${END}`,
    want: at(12, 'arg#2 arg#3 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'slice of a size not known, no buffer',
    type: TC,
    text: `${H}\n${skb()}\nr0 = *(u32 *)(r6 + 0)\nr0 &= 7\n${slice(-16, null).replace('r4 = 8', 'r4 = r0')}\n${END}`,
    want: at(13, 'R4 must be a known constant'),
  },
  {
    name: 'slice of a size not known, within its buffer',
    type: TC,
    text: `${H}\n${skb()}\nr0 = *(u32 *)(r6 + 0)\nr0 &= 7\n${slice().replace('r4 = 8', 'r4 = r0')}\n${END}`,
    want: at(14, 'R4 must be a known constant'),
  },
  {
    name: 'slice of a size not known, past the stack',
    type: TC,
    text: `${H}\n${skb(-32)}\nr0 = *(u32 *)(r6 + 0)\nr0 &= 15\n${slice(-32, -8).replace('r4 = 8', 'r4 = r0')}\n${END}`,
    want: at(14, 'arg#2 arg#3 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'slice of a size not bounded',
    type: TC,
    text: `${H}\n${skb()}\nr0 = *(u32 *)(r6 + 0)\n${slice().replace('r4 = 8', 'r4 = r0')}\n${END}`,
    want: at(13, 'arg#2 arg#3 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'slice with an uninitialized stack buffer',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -64)}\n${END}`,
    want: OK,
  },
  {
    name: 'slice of no dynptr',
    type: TC,
    text: `${H}\n${slice()}\n${END}`,
    want: at(7, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: 'slice of the context',
    type: TC,
    text: `${H}\n${skb()}\n${slice().replace('r1 = r10', 'r1 = r6')}\n${END}`,
    want: at(12, 'negative offset ctx ptr R1 off=-16 disallowed'),
  },
  {
    name: 'slice at a pointer offset',
    type: TC,
    text: `${H}\n${skb()}\n${slice().replace('r2 = 0', 'r2 = r10')}\n${END}`,
    want: at(12, 'R2 is not a scalar'),
  },
  {
    name: 'slice as a map key',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr2 = r0\nr1 = map 1\ncall 1\nout:\n${END}`,
    want: UNMODELLED,
  },
  // What kills a slice, and what does not.
  {
    name: 'skb slice after bpf_skb_pull_data',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = 0\ncall 39\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(18, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'skb slice after bpf_dynptr_write to its dynptr',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(23, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'packet pointer after bpf_dynptr_write to an skb dynptr',
    type: TC,
    text: `${H}\n${skb()}\nr7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\nr1 = r7\nr1 += 1\nif r1 > r8 goto out\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(19, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'packet pointer after bpf_dynptr_write to a local dynptr',
    type: TC,
    text: `${H}\nr7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\nr1 = r7\nr1 += 1\nif r1 > r8 goto out\n${LOCAL}\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'xdp slice after bpf_dynptr_write to its dynptr',
    type: XDP,
    text: `${H}\n${xdp()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${dwrite()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'skb slice after bpf_dynptr_read elsewhere',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${dread(-64)}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'skb slice after bpf_dynptr_read into its buffer (not modelled)',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${dread(-48)}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: UNMODELLED,
  },
  {
    name: 'slice after a store into its buffer',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\nr1 = 0\n*(u64 *)(r10 - 48) = r1\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(17, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'slice stored into before its NULL check',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nr1 = 0\n*(u64 *)(r10 - 48) = r1\n${READ()}`,
    want: at(16, "R0 invalid mem access 'scalar'"),
  },
  {
    name: 'slice of 4 after a store beside its buffer, in the same slot',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -48, 4)}\nif r0 == 0 goto out\nr1 = 0\n*(u32 *)(r10 - 44) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice of 4 after a store overlapping its buffer by 2 bytes',
    type: TC,
    text: `${H}\n${skb()}\n${slice(-16, -48, 4)}\nif r0 == 0 goto out\nr1 = 0\n*(u16 *)(r10 - 46) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: at(16, "R0 invalid mem access 'scalar'"),
  },
  {
    name: 'slice after a store in the next slot',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 40) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice after a store over its skb dynptr',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 16) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice after a store over its local dynptr',
    type: ProgType.SOCKET_FILTER,
    text: `${LOCAL}\n${slice(-16, null)}\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 16) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice after its dynptr is made again',
    type: TC,
    text: `${H}\n${skb()}\n${slice()}\nif r0 == 0 goto out\nr7 = r0\n${skb()}\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'slice of a map value buffer after a store into the value',
    type: TC,
    text: `${H}\nr1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 1\ncall 1\nif r0 == 0 goto out\nr9 = r0\n${skb(-32)}\nr1 = r10\nr1 += -32\nr2 = 0\nr3 = r9\nr4 = 8\nkcall bpf_dynptr_slice\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r9 + 0) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'ring buffer slice after its dynptr is submitted',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${slice(-16, null)}\nr7 = r0\n${submit()}\nif r7 == 0 goto out\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(19, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'ring buffer slice submitted as ring buffer memory',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${slice(-16, null)}\nif r0 == 0 goto out\nr1 = r0\nr2 = 0\ncall 132\nout:\n${submit()}\n${END}`,
    // bpfkit does not model read-only memory passed to helpers (the kernel: insn 16, expected=ringbuf_mem).
    want: UNMODELLED,
  },
  // Two paths whose slices differ in their buffers meet: each keeps its own.
  {
    name: 'slices with and without a buffer meet, then the buffer is stored into',
    type: TC,
    text: `${H}\n${skb()}\nr7 = *(u32 *)(r6 + 0)\nif r7 != 0 goto buf\n${slice(-16, null)}\ngoto join\nbuf:\n${slice()}\njoin:\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 48) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: at(25, "R0 invalid mem access 'scalar'"),
  },
  {
    name: 'slices with buffers at two places meet, then one buffer is stored into',
    type: TC,
    text: `${H}\n${skb()}\nr7 = *(u32 *)(r6 + 0)\nif r7 != 0 goto buf\n${slice(-16, -64)}\ngoto join\nbuf:\n${slice()}\njoin:\nif r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 48) = r1\nr0 = *(u8 *)(r0 + 0)\nout:\n${END}`,
    want: at(26, "R0 invalid mem access 'scalar'"),
  },
  // Clones.
  {
    name: 'clone of an skb dynptr, sliced',
    type: TC,
    text: `${H}\n${skb()}\n${clone()}\n${slice(-32)}\n${READ()}`,
    want: OK,
  },
  { name: 'clone onto its parent', type: TC, text: `${H}\n${skb()}\n${clone(-16, -16)}\n${slice()}\n${END}`, want: OK },
  {
    name: 'clone of no dynptr',
    type: TC,
    text: `${H}\n${clone()}\n${END}`,
    want: at(5, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: "skb clone's slice after bpf_skb_pull_data",
    type: TC,
    text: `${H}\n${skb()}\n${clone()}\n${slice(-32)}\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = 0\ncall 39\nr0 = *(u8 *)(r7 + 0)\nout:\n${END}`,
    want: at(23, "R7 invalid mem access 'scalar'"),
  },
  {
    name: 'ring buffer clone submitted, then its parent',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${clone()}\n${submit()}\n${submit(-32)}\n${END}`,
    want: at(19, 'arg 1 is an unacquired reference'),
  },
  {
    name: 'ring buffer clone submitted alone',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${clone()}\n${submit(-32)}\n${END}`,
    want: OK,
  },
  {
    name: 'ring buffer clone used after its parent is submitted',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${clone()}\n${submit()}\n${on('bpf_dynptr_size', -32)}\n${END}`,
    want: at(18, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: 'ring buffer clone onto its parent',
    type: ProgType.SOCKET_FILTER,
    text: `${RESERVE}\n${clone(-16, -16)}\n${submit()}\n${END}`,
    want: at(11, 'cannot overwrite referenced dynptr'),
  },
  {
    name: 'local clone used after its parent is overwritten',
    type: ProgType.SOCKET_FILTER,
    text: `${LOCAL}\n${clone()}\nr1 = 0\n*(u64 *)(r10 - 16) = r1\n${on('bpf_dynptr_size', -32)}\nout:\n${END}`,
    want: OK,
  },
  // adjust, is_null, is_rdonly, size.
  {
    name: 'adjust, is_null, is_rdonly and size of an skb dynptr',
    type: TC,
    text: `${H}\n${skb()}\nr1 = r10\nr1 += -16\nr2 = 1\nr3 = 4\nkcall bpf_dynptr_adjust\n${on('bpf_dynptr_is_null')}\n${on('bpf_dynptr_is_rdonly')}\n${on('bpf_dynptr_size')}\nexit`,
    want: OK,
  },
  {
    name: 'adjust of no dynptr',
    type: TC,
    text: `${H}\nr1 = r10\nr1 += -16\nr2 = 1\nr3 = 4\nkcall bpf_dynptr_adjust\n${END}`,
    want: at(5, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: 'adjust with a pointer as start',
    type: TC,
    text: `${H}\n${skb()}\nr1 = r10\nr1 += -16\nr2 = r10\nr3 = 4\nkcall bpf_dynptr_adjust\n${END}`,
    want: at(10, 'R2 is not a scalar'),
  },
  {
    name: 'is_null of no dynptr',
    type: TC,
    text: `${H}\n${on('bpf_dynptr_is_null')}\n${END}`,
    want: at(3, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: 'size of the context',
    type: TC,
    text: `${H}\nr1 = r6\nkcall bpf_dynptr_size\n${END}`,
    want: at(2, 'arg#0 expected pointer to stack or const struct bpf_dynptr'),
  },
  {
    name: 'size of NULL',
    type: TC,
    text: `${H}\nr1 = 0\nkcall bpf_dynptr_size\n${END}`,
    want: at(2, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: "size of the dynptr's second half",
    type: TC,
    text: `${H}\n${skb()}\n${on('bpf_dynptr_size', -8)}\n${END}`,
    want: at(8, 'Expected an initialized dynptr as arg #0'),
  },
  {
    name: 'an instruction reading an skb dynptr',
    type: TC,
    text: `${H}\n${skb()}\nr0 = *(u64 *)(r10 - 16)\n${END}`,
    want: at(6, 'invalid read from stack off -16+0 size 8'),
  },
  {
    name: 'slice_rdwr (this kernel refuses to load it: not modelled)',
    type: XDP,
    text: `${H}\n${xdp()}\n${slice(-16, null, 8, 'bpf_dynptr_slice_rdwr')}\n${END}`,
    want: UNMODELLED,
  },
];
