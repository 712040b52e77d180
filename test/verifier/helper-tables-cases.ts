/**
 * Helpers of one program type's table that bpfkit's other tables leave out (src/verifier/hook-helpers.ts:
 * a socket's cgroup in cgroup_skb, sock_ops's TCP header options, perf_event's branch records) and the
 * tracing helper table of tp_btf programs (calls.ts), each program with the verdict the running kernel
 * (6.18) gives. Programs are in kfunc-cases.ts's assembly (labels, `goto label`, `off(struct.member)`),
 * and `deep(struct.member)` finds a member inside anonymous structs and unions too (tableProgram).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import type { Want } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';

/** The byte offset of member `name` of type `id`, looking into anonymous members; undefined if none. */
function deepOffset(btf: Btf, id: number, name: string): number | undefined {
  const mods: number[] = [BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG];
  let t = btf.types[id];
  while (t && mods.includes(t.kind)) t = btf.types[t.sizeOrType];
  for (const m of t?.members ?? []) {
    if (m.name === name) return m.offset / 8;
    if (m.name) continue;
    const inner = deepOffset(btf, m.type, name);
    if (inner !== undefined) return m.offset / 8 + inner;
  }
  return undefined;
}

/** Assemble a case: `deep(struct.member)` resolved in `btf`, then kfuncProgram's syntax. */
export function tableProgram(btf: Btf, text: string): Instruction[] {
  return kfuncProgram(
    btf,
    text.replace(/deep\((\w+)\.(\w+)\)/g, (_, st: string, m: string) => {
      const off = deepOffset(btf, btf.byName(st, BtfKind.STRUCT)!.id, m);
      if (off === undefined) throw new Error(`no member ${st}.${m} in the kernel's BTF`);
      return String(off);
    }),
  );
}

/** One program and what the kernel says of it. */
export interface TableCase {
  name: string;
  type: number;
  attach?: number;
  /** tp_btf programs: the tracepoint. */
  tp?: string;
  /** Iterator programs: the target (`bpf_iter_<target>`). */
  iter?: string;
  text: string;
  want: Want;
  maps?: VerifierMap[];
  /** Loaded with BPF_F_SLEEPABLE. */
  sleepable?: boolean;
}

const OK: Want = { ok: true };
const UNMODELLED: Want = { unmodelled: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const cannot = (pc: number, name: string, id: number) =>
  at(pc, `program of this type cannot use helper bpf_${name}#${id}`);

const { SOCK_OPS, CGROUP_SKB, PERF_EVENT, SCHED_CLS, KPROBE } = ProgType;
/** BPF_CGROUP_SOCK_OPS. */
const SOCK_OPS_ATTACH = 3;
/** BPF_PROG_TYPE_TRACING. */
const TRACING = 26;

/**
 * A sock_ops header option helper on an 8-byte stack buffer at fp-8 (zeroed if `init`: a privileged
 * program may pass uninitialized stack either way); the call is insn 8.
 */
const hdrOpt = (id: number, init: boolean, size = 8) => `
  r6 = r1
  r2 = 0
  ${init ? '*(u64 *)(r10 - 8) = r2' : 'r0 = 0'}
  r1 = r6
  r2 = r10
  r2 += -8
  r3 = ${size}
  r4 = 0
  call ${id}
  r0 = 1
  exit`;

/** A cgroup_skb program's socket (__sk_buff->sk at 168), NULL-checked or not, given to helper `id` (insn 3). */
const skCgroup = (id: number, check = true) => `
  r1 = *(u64 *)(r1 + 168)
  ${check ? 'if r1 == 0 goto out' : 'r0 = 0'}
  r2 = 1
  call ${id}
out:
  r0 = 1
  exit`;

/** perf_event's branch records into 32 bytes at fp-32 (zeroed if `init`); the call is insn 9. */
const branches = (init: boolean) => `
  r2 = 0
  ${init ? '*(u64 *)(r10 - 32) = r2\n*(u64 *)(r10 - 24) = r2\n*(u64 *)(r10 - 16) = r2' : 'r0 = 0\nr0 = 0\nr0 = 0'}
  ${init ? '*(u64 *)(r10 - 8) = r2' : 'r0 = 0'}
  r2 = r10
  r2 += -32
  r3 = 32
  r4 = 0
  call 119
  r0 = 0
  exit`;

/** A read-only, frozen 16-byte array (as .rodata). */
const RODATA: VerifierMap = {
  name: 'ro',
  type: MapType.ARRAY,
  keySize: 4,
  valueSize: 16,
  maxEntries: 1,
  readOnly: true,
  frozenValue: new Uint8Array(16),
};

/**
 * bpf_snprintf_btf into 16 bytes at fp-16 (or where `buf` puts r1) of a 16-byte struct btf_ptr at fp-32
 * (`size` of it read); the call is insn 10.
 */
const snprintfBtf = (buf = 'r1 = r10\nr1 += -16', size = 16) => `
  r2 = 0
  *(u64 *)(r10 - 32) = r2
  *(u64 *)(r10 - 24) = r2
  ${buf}
  r2 = 16
  r3 = r10
  r3 += -32
  r4 = ${size}
  r5 = 0
  call 149
  r0 = 0
  exit`;

/** The cases. */
export const TABLE_CASES: readonly TableCase[] = [
  { name: 'load_hdr_opt', type: SOCK_OPS, attach: SOCK_OPS_ATTACH, text: hdrOpt(142, true), want: OK },
  {
    name: 'load_hdr_opt into an uninitialized buffer',
    type: SOCK_OPS,
    attach: SOCK_OPS_ATTACH,
    text: hdrOpt(142, false),
    want: OK,
  },
  { name: 'store_hdr_opt', type: SOCK_OPS, attach: SOCK_OPS_ATTACH, text: hdrOpt(143, true), want: OK },
  {
    name: 'store_hdr_opt from an uninitialized buffer',
    type: SOCK_OPS,
    attach: SOCK_OPS_ATTACH,
    text: hdrOpt(143, false),
    want: OK,
  },
  {
    name: 'store_hdr_opt past the buffer',
    type: SOCK_OPS,
    attach: SOCK_OPS_ATTACH,
    text: hdrOpt(143, true, 16),
    want: at(8, 'invalid read from stack R2 off=-8 size=16'),
  },
  {
    name: 'reserve_hdr_opt',
    type: SOCK_OPS,
    attach: SOCK_OPS_ATTACH,
    text: 'r2 = 8\nr3 = 0\ncall 144\nr0 = 1\nexit',
    want: OK,
  },
  { name: 'load_hdr_opt in tc', type: SCHED_CLS, text: hdrOpt(142, true), want: cannot(8, 'load_hdr_opt', 142) },
  { name: 'sk_cgroup_id', type: CGROUP_SKB, text: skCgroup(128), want: OK },
  { name: 'sk_ancestor_cgroup_id', type: CGROUP_SKB, text: skCgroup(129), want: OK },
  {
    name: 'sk_cgroup_id of a socket not checked',
    type: CGROUP_SKB,
    text: skCgroup(128, false),
    want: at(3, 'R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'sk_cgroup_id of a scalar',
    type: CGROUP_SKB,
    text: 'r1 = 0\ncall 128\nr0 = 1\nexit',
    want: at(1, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  { name: 'sk_cgroup_id in tc', type: SCHED_CLS, text: skCgroup(128), want: cannot(3, 'sk_cgroup_id', 128) },
  { name: 'read_branch_records', type: PERF_EVENT, text: branches(true), want: OK },
  {
    name: 'read_branch_records into an uninitialized buffer',
    type: PERF_EVENT,
    text: branches(false),
    want: OK,
  },
  {
    name: 'read_branch_records into NULL',
    type: PERF_EVENT,
    text: 'r2 = 0\nr3 = 0\nr4 = 0\ncall 119\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'read_branch_records in a kprobe',
    type: KPROBE,
    text: branches(true),
    want: cannot(9, 'read_branch_records', 119),
  },
  // tp_btf: raw_tp's table (bpf_tracing_func_proto, bpf_base_func_proto) where tracing_prog_func_proto has
  // no prototype of its own.
  ...(
    [
      [42, 'get_numa_node_id', ''],
      [118, 'jiffies64', ''],
      [208, 'ktime_get_tai_ns', ''],
      [123, 'get_current_ancestor_cgroup_id', 'r1 = 0'],
      [109, 'send_signal', 'r1 = 0'],
      [117, 'send_signal_thread', 'r1 = 0'],
    ] as const
  ).map(([id, name, args]): TableCase => ({
    name: `${name} in tp_btf`,
    type: TRACING,
    tp: 'task_newtask',
    text: `${args}\ncall ${id}\nr0 = 0\nexit`,
    want: OK,
  })),
  {
    name: 'copy_from_user in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\nr0 = 0\nexit',
    want: at(4, 'helper call might sleep in a non-sleepable prog'),
  },
  {
    name: 'strtol in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r1 = 0x31\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 2\nr3 = 0\nr4 = r10\nr4 += -16\ncall 105\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'dynptr_from_mem of the stack in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = r10
  r1 += -8
  r2 = 8
  r3 = 0
  r4 = r10
  r4 += -24
  call 197
  r0 = 0
  exit`,
    want: at(8, 'Unsupported reg type fp for bpf_dynptr_from_mem data'),
  },
  {
    // reserve (198), write (202), read (201), data (203), then discard (200) or submit (199).
    name: 'a ring buffer dynptr in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    maps: [{ name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false }],
    text: `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = map 0
  r2 = 8
  r3 = 0
  r4 = r10
  r4 += -24
  call 198
  r1 = r10
  r1 += -24
  r2 = 0
  r3 = r10
  r3 += -8
  r4 = 8
  r5 = 0
  call 202
  r1 = r10
  r1 += -8
  r2 = 8
  r3 = r10
  r3 += -24
  r4 = 0
  r5 = 0
  call 201
  r1 = r10
  r1 += -24
  r2 = 0
  r3 = 8
  call 203
  r1 = r10
  r1 += -24
  r2 = 0
  if r0 == 0 goto discard
  call 199
  r0 = 0
  exit
discard:
  call 200
  r0 = 0
  exit`,
    want: OK,
  },
  // snprintf_btf (149) and copy_from_user_task (191).
  { name: 'snprintf_btf in a kprobe', type: KPROBE, text: snprintfBtf(), want: OK },
  { name: 'snprintf_btf in tp_btf', type: TRACING, tp: 'task_newtask', text: snprintfBtf(), want: OK },
  {
    name: 'snprintf_btf into a read-only map',
    type: KPROBE,
    maps: [RODATA],
    text: snprintfBtf('r1 = map_value 0+0'),
    want: at(10, 'write into map forbidden, value_size=16 off=0 size=16'),
  },
  {
    name: 'snprintf_btf of a struct past the stack',
    type: KPROBE,
    text: snprintfBtf(undefined, 40),
    want: at(10, 'invalid read from stack R3 off=-32 size=40'),
  },
  // Linux 6.18 gives both to every program type (bpf_base_func_proto).
  { name: 'snprintf_btf in tc', type: SCHED_CLS, text: snprintfBtf(), want: OK },
  {
    name: 'copy_from_user_task in tc',
    type: SCHED_CLS,
    text: 'r4 = 0\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr5 = 0\ncall 191\nr0 = 0\nexit',
    want: at(6, 'helper call might sleep in a non-sleepable prog'),
  },
  {
    name: 'copy_from_user_task in a kprobe',
    type: KPROBE,
    text: 'call 158\nr4 = r0\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr5 = 0\ncall 191\nr0 = 0\nexit',
    want: at(7, 'helper call might sleep in a non-sleepable prog'),
  },
  {
    name: 'copy_from_user_task in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r4 = *(u64 *)(r1 + 0)\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr5 = 0\ncall 191\nr0 = 0\nexit',
    want: at(6, 'helper call might sleep in a non-sleepable prog'),
  },
  {
    name: 'copy_from_user_task in a sleepable syscall program',
    type: 31,
    sleepable: true,
    text: 'call 158\nr4 = r0\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr5 = 0\ncall 191\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'copy_from_user_task of a scalar, sleepable',
    type: 31,
    sleepable: true,
    text: 'r4 = 0\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr5 = 0\ncall 191\nr0 = 0\nexit',
    want: at(6, 'R4 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  // The iterators' own: the socket behind a task_file iterator's file (ctx+24, maybe NULL), a file's path.
  {
    name: 'sock_from_file in a task_file iterator',
    type: TRACING,
    iter: 'task_file',
    text: 'r1 = *(u64 *)(r1 + 24)\nif r1 == 0 goto out\ncall 162\nif r0 == 0 goto out\nr0 = *(u32 *)(r0 + 0)\nout:\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'sock_from_file of a file not checked',
    type: TRACING,
    iter: 'task_file',
    text: 'r1 = *(u64 *)(r1 + 24)\ncall 162\nr0 = 0\nexit',
    want: at(1, 'R1 type=ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'sock_from_file of a scalar',
    type: TRACING,
    iter: 'task_file',
    text: 'r1 = 0\ncall 162\nr0 = 0\nexit',
    want: at(1, 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'sock_from_file of a task',
    type: TRACING,
    iter: 'task_file',
    text: 'r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\ncall 162\nout:\nr0 = 0\nexit',
    want: at(2, 'R1 is of type task_struct but file is expected'),
  },
  // struct file's f_path sits in a union on Linux 6.18: whether the kernel's struct walk finds a path
  // there bpfkit leaves not modelled (the kernel accepts both).
  {
    name: "d_path of a task_file iterator's file",
    type: TRACING,
    iter: 'task_file',
    text: `r1 = *(u64 *)(r1 + 24)\nif r1 == 0 goto out\nr1 += deep(file.f_path)\nr2 = r10\nr2 += -16\nr3 = 16\ncall 147\nout:\nr0 = 0\nexit`,
    want: UNMODELLED,
  },
  {
    name: 'd_path into a read-only map',
    type: TRACING,
    iter: 'task_file',
    maps: [RODATA],
    text: `r1 = *(u64 *)(r1 + 24)\nif r1 == 0 goto out\nr1 += deep(file.f_path)\nr2 = map_value 0+0\nr3 = 16\ncall 147\nout:\nr0 = 0\nexit`,
    want: UNMODELLED,
  },
  {
    name: 'd_path of a file itself',
    type: TRACING,
    iter: 'task_file',
    text: `r1 = *(u64 *)(r1 + 24)\nif r1 == 0 goto out\nr1 += 4\nr2 = r10\nr2 += -16\nr3 = 16\ncall 147\nout:\nr0 = 0\nexit`,
    want: at(6, 'R1 is of type file but path is expected'),
  },
  {
    name: 'd_path in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r1 = 0\nr2 = r10\nr2 += -16\nr3 = 16\ncall 147\nr0 = 0\nexit',
    want: at(4, 'helper call is not allowed in probe'),
  },
];
