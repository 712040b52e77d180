/**
 * struct_ops programs (src/verifier/struct-ops.ts), each with the verdict the running kernel (6.18) gives:
 * the target checks before the walk (license, member, sleepable), the context (the member's arguments,
 * a socket promoted to tcp_sock, test_1's NULL-able state), the writes each struct_ops type allows, its
 * helpers and kfuncs, and what a void member may return. Programs are written as in kfunc-cases.ts
 * (`off(struct.member)`, `call kfunc name`), plus `offn(struct.a.b+K)` for a nested member's offset
 * (plus K bytes).
 */
import { type Btf, BtfKind } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { type VerifierMap, type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import type { Want } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';

/** One struct_ops case: the struct and member the program serves, its text and the verdict. */
export interface StructOpsCase {
  name: string;
  struct: 'tcp_congestion_ops' | 'bpf_dummy_ops';
  /** The member by name, or an index (for an index the struct does not have). */
  member: string | number;
  sleepable?: boolean;
  license?: string;
  /** A socket storage map (index 0), for the sk_storage helpers. */
  storage?: boolean;
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.{}]/g, '\\$&')}$`) });
/** A refusal before the walk: the kernel names no instruction, bpfkit says 0. */
const before = (text: string): Want => at(0, text);

/** BPF_PROG_TYPE_STRUCT_OPS. */
export const STRUCT_OPS = 27;
/** BPF_F_SLEEPABLE. */
const SLEEPABLE = 1 << 4;

/** The kernel struct's BTF id and the member's index in it. */
export function target(btf: Btf, c: StructOpsCase): { structId: number; index: number } {
  const t = btf.byName(c.struct, BtfKind.STRUCT);
  if (!t) throw new Error(`no struct ${c.struct} in the kernel's BTF`);
  const index = typeof c.member === 'number' ? c.member : t.members.findIndex((m) => m.name === c.member);
  if (index < 0) throw new Error(`no member ${c.struct}.${c.member} in the kernel's BTF`);
  return { structId: t.id, index };
}

/** Byte offset of a nested member path in struct `s` (through anonymous members too). */
function nestedOffset(btf: Btf, s: string, path: string[]): number {
  const walk = (id: number, rest: string[]): number | undefined => {
    const t = btf.resolve(id);
    for (const m of t.members) {
      if (m.name === rest[0]) return rest.length === 1 ? m.offset / 8 : add(m.offset / 8, walk(m.type, rest.slice(1)));
      if (!m.name) {
        const inner = walk(m.type, rest);
        if (inner !== undefined) return m.offset / 8 + inner;
      }
    }
    return undefined;
  };
  const add = (a: number, b: number | undefined) => (b === undefined ? undefined : a + b);
  const t = btf.byName(s, BtfKind.STRUCT);
  const off = t && walk(t.id, path);
  if (off === undefined) throw new Error(`no member ${s}.${path.join('.')} in the kernel's BTF`);
  return off;
}

/** Assemble a case in `btf` (the kernel's). */
export function structOpsProgram(btf: Btf, text: string): Instruction[] {
  const nested = text.replace(/offn\((\w+)\.([\w.]+)(?:\+(\d+))?\)/g, (_, s: string, p: string, k?: string) =>
    String(nestedOffset(btf, s, p.split('.')) + Number(k ?? 0)),
  );
  return kfuncProgram(btf, nested);
}

/** The socket storage map the sk_storage cases name (index 0). */
export const STORAGE_MAP: VerifierMap = {
  name: 'sk_stg',
  type: 24,
  keySize: 4,
  valueSize: 8,
  maxEntries: 0,
  readOnly: false,
  writeOnly: false,
};

/** bpfkit's verdict on a case. */
export function structOpsVerdict(btf: Btf, c: StructOpsCase): VerifyResult {
  const { structId, index } = target(btf, c);
  return verifyInstructions(structOpsProgram(btf, c.text), {
    type: STRUCT_OPS,
    attachType: index,
    attachBtfId: structId,
    kernelBtf: btf,
    sleepable: c.sleepable ?? false,
    license: c.license ?? 'GPL',
    maps: c.storage ? [STORAGE_MAP] : [],
  });
}

/** BPF_PROG_LOAD's prog_flags for a case. */
export const flagsOf = (c: StructOpsCase): number => (c.sleepable ? SLEEPABLE : 0);

const tcp = { struct: 'tcp_congestion_ops' } as const;
const dummy = { struct: 'bpf_dummy_ops' } as const;
/** The socket argument (trusted, never NULL, a tcp_sock) in r6. */
const SK = 'r6 = *(u64 *)(r1 + 0)';

/** The cases. */
export const STRUCT_OPS_CASES: readonly StructOpsCase[] = [
  // Before the walk: check_struct_ops_btf_id.
  {
    name: 'a non-GPL license',
    ...tcp,
    member: 'init',
    license: 'Dual BSD',
    text: 'exit',
    want: before('struct ops programs must have a GPL compatible license'),
  },
  {
    name: 'a non-GPL license and a kfunc call (add_subprog_and_kfunc says it first)',
    ...tcp,
    member: 'ssthresh',
    license: 'Dual BSD',
    text: 'r1 = *(u64 *)(r1 + 0)\ncall kfunc tcp_reno_ssthresh\nexit',
    want: at(1, 'cannot call kernel function from non-GPL compatible program'),
  },
  {
    name: 'tcp_congestion_ops.get_info has no stub',
    ...tcp,
    member: 'get_info',
    text: 'r0 = 0\nexit',
    want: before('attach to unsupported member get_info of struct tcp_congestion_ops'),
  },
  {
    name: 'tcp_congestion_ops.name is no function',
    ...tcp,
    member: 'name',
    text: 'r0 = 0\nexit',
    want: before('attach to invalid member name(@idx 11) of struct tcp_congestion_ops'),
  },
  {
    name: 'a member index past the struct',
    ...tcp,
    member: 40,
    text: 'r0 = 0\nexit',
    want: before('attach to invalid member idx 40 of struct tcp_congestion_ops'),
  },
  {
    name: 'a sleepable bpf_dummy_ops.test_2',
    ...dummy,
    member: 'test_2',
    sleepable: true,
    text: 'r0 = 0\nexit',
    want: before('attach to unsupported member test_2 of struct bpf_dummy_ops'),
  },
  {
    name: 'a sleepable bpf_dummy_ops.test_sleepable',
    ...dummy,
    member: 'test_sleepable',
    sleepable: true,
    text: 'r0 = 0\nexit',
    want: OK,
  },
  {
    name: 'bpf_dummy_ops.test_sleepable, not sleepable',
    ...dummy,
    member: 'test_sleepable',
    text: 'r0 = 0\nexit',
    want: OK,
  },
  {
    name: 'a sleepable tcp_congestion_ops.init reads its context',
    ...tcp,
    member: 'init',
    sleepable: true,
    text: 'r2 = *(u64 *)(r1 + 0)\nexit',
    want: OK,
  },
  {
    name: 'set_state reads its new state as a byte',
    ...tcp,
    member: 'set_state',
    text: 'r2 = *(u8 *)(r1 + 8)\nexit',
    want: OK,
  },
  // Returns.
  { name: 'a void member (init) returns without r0', ...tcp, member: 'init', text: 'exit', want: OK },
  { name: 'ssthresh returns without r0', ...tcp, member: 'ssthresh', text: 'exit', want: at(0, 'R0 !read_ok') },
  {
    name: 'ssthresh returns the socket',
    ...tcp,
    member: 'ssthresh',
    text: `${SK}\nr0 = r6\nexit`,
    want: OK,
  },
  // The context.
  {
    name: 'ssthresh reads snd_cwnd of its socket (a tcp_sock)',
    ...tcp,
    member: 'ssthresh',
    text: `${SK}\nr0 = *(u32 *)(r6 + off(tcp_sock.snd_cwnd))\nexit`,
    want: OK,
  },
  {
    name: 'ssthresh reads a second argument',
    ...tcp,
    member: 'ssthresh',
    text: 'r0 = *(u64 *)(r1 + 8)\nexit',
    want: at(0, 'invalid bpf_context access off=8 size=8'),
  },
  {
    name: 'cong_control reads its rate_sample and flag',
    ...tcp,
    member: 'cong_control',
    text: 'r2 = *(u64 *)(r1 + 24)\nr3 = *(u32 *)(r1 + 16)\nr0 = *(u32 *)(r2 + 0)\nexit',
    want: OK,
  },
  {
    name: 'cong_control reads its socket argument as 4 bytes',
    ...tcp,
    member: 'cong_control',
    text: 'r2 = *(u32 *)(r1 + 0)\nexit',
    want: at(0, 'invalid bpf_context access off=0 size=4'),
  },
  {
    name: 'init writes its context',
    ...tcp,
    member: 'init',
    text: 'r2 = 0\n*(u64 *)(r1 + 0) = r2\nexit',
    want: at(1, 'invalid bpf_context access off=0 size=8'),
  },
  // Writes (bpf_tcp_ca_btf_struct_access).
  {
    name: 'init writes snd_cwnd, snd_ssthresh, sk_pacing_rate, sk_pacing_status',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 10\n*(u32 *)(r6 + off(tcp_sock.snd_cwnd)) = r2\n*(u32 *)(r6 + off(tcp_sock.snd_ssthresh)) = r2\n*(u64 *)(r6 + off(sock.sk_pacing_rate)) = r2\n*(u32 *)(r6 + off(sock.sk_pacing_status)) = 1\nexit`,
    want: OK,
  },
  {
    name: 'init writes inside icsk_ca_priv and icsk_ack.pending',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 1\n*(u64 *)(r6 + offn(inet_connection_sock.icsk_ca_priv+8)) = r2\n*(u8 *)(r6 + offn(inet_connection_sock.icsk_ack.pending)) = r2\nexit`,
    want: OK,
  },
  {
    name: 'init writes snd_cwnd as 8 bytes',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 10\n*(u64 *)(r6 + off(tcp_sock.snd_cwnd)) = r2\nexit`,
    want: { pc: 2, re: /^write access at off \d+ with size 8 beyond the member of tcp_sock ended at \d+$/ },
  },
  {
    name: 'init writes rcv_nxt',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 10\n*(u32 *)(r6 + off(tcp_sock.rcv_nxt)) = r2\nexit`,
    want: { pc: 2, re: /^no write support to tcp_sock at off \d+$/ },
  },
  {
    name: 'pkts_acked writes its ack_sample',
    ...tcp,
    member: 'pkts_acked',
    text: 'r2 = *(u64 *)(r1 + 8)\nr3 = 1\n*(u32 *)(r2 + 0) = r3\nexit',
    want: at(2, 'only read is supported'),
  },
  {
    name: 'init writes through a walked (untrusted) pointer',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = *(u64 *)(r6 + off(tcp_sock.fastopen_rsk))\nr3 = 1\n*(u32 *)(r2 + 0) = r3\nexit`,
    want: at(3, 'only read is supported'),
  },
  {
    name: 'init swaps sk_pacing_status atomically',
    ...tcp,
    member: 'init',
    text: `${SK}\nr0 = 0\nr2 = 1\nw0 = cmpxchg32_32(r6 + off(sock.sk_pacing_status), w0, w2)\nexit`,
    want: OK,
  },
  // Helpers: bpf_tcp_ca_get_func_proto, then bpf_base_func_proto.
  {
    name: 'cong_avoid sends an ack',
    ...tcp,
    member: 'cong_avoid',
    text: `${SK}\nr1 = r6\nr2 = 0\ncall 116\nexit`,
    want: OK,
  },
  {
    name: 'bpf_tcp_send_ack of NULL',
    ...tcp,
    member: 'cong_avoid',
    text: 'r1 = 0\nr2 = 0\ncall 116\nexit',
    want: at(2, 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'release calls bpf_setsockopt',
    ...tcp,
    member: 'release',
    text: `${SK}\nr1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -8\nr5 = 8\ncall 49\nexit`,
    want: at(7, 'program of this type cannot use helper bpf_setsockopt#49'),
  },
  {
    name: 'init sets and gets a TCP option',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 0\n*(u64 *)(r10 - 8) = r2\nr1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -8\nr5 = 8\ncall 49\nr1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -16\nr5 = 8\ncall 57\nexit`,
    want: OK,
  },
  {
    name: 'init sets a TCP option from unset stack (a privileged load may read it)',
    ...tcp,
    member: 'init',
    text: `${SK}\nr1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -8\nr5 = 8\ncall 49\nexit`,
    want: OK,
  },
  {
    name: 'init sets a TCP option of a variable size',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 0\n*(u64 *)(r10 - 8) = r2\ncall 7\nr5 = r0\nr1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -8\ncall 49\nexit`,
    want: at(10, "R5 min value is negative, either use unsigned or 'var &= const'"),
  },
  {
    name: 'ssthresh calls ktime_get_ns, get_prandom_u32 and ktime_get_coarse_ns',
    ...tcp,
    member: 'ssthresh',
    text: 'call 5\ncall 7\ncall 160\nexit',
    want: OK,
  },
  {
    name: 'ssthresh calls skb_load_bytes',
    ...tcp,
    member: 'ssthresh',
    text: 'r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nexit',
    want: at(4, 'program of this type cannot use helper bpf_skb_load_bytes#26'),
  },
  {
    name: 'init gets and deletes the socket storage',
    ...tcp,
    member: 'init',
    storage: true,
    text: `${SK}\nr1 = map 0\nr2 = r6\nr3 = 0\nr4 = 1\ncall 107\nr1 = map 0\nr2 = r6\ncall 108\nexit`,
    want: OK,
  },
  {
    name: 'socket storage of NULL',
    ...tcp,
    member: 'init',
    storage: true,
    text: `r1 = map 0\nr2 = 0\nr3 = 0\nr4 = 0\ncall 107\nexit`,
    want: { pc: 5, re: /^R2 type=scalar expected=/ },
  },
  {
    name: 'bpf_dummy_ops calls ktime_get_ns',
    ...dummy,
    member: 'test_2',
    text: 'call 5\nexit',
    want: at(0, 'program of this type cannot use helper bpf_ktime_get_ns#5'),
  },
  {
    name: 'bpf_dummy_ops calls helper #300',
    ...dummy,
    member: 'test_2',
    text: 'call 300\nexit',
    want: at(0, 'invalid func unknown#300'),
  },
  {
    name: 'init writes past the end of icsk_ca_priv',
    ...tcp,
    member: 'init',
    text: `${SK}\nr2 = 1\n*(u64 *)(r6 + offn(inet_connection_sock.icsk_ca_priv+100)) = r2\nexit`,
    want: { pc: 2, re: /^write access at off \d+ with size 8 beyond the member of tcp_sock ended at \d+$/ },
  },
  // kfuncs: bpf_tcp_ca_kfunc_set and tcp_cubic's.
  {
    name: 'ssthresh returns tcp_reno_ssthresh of its socket',
    ...tcp,
    member: 'ssthresh',
    text: 'r1 = *(u64 *)(r1 + 0)\ncall kfunc tcp_reno_ssthresh\nexit',
    want: OK,
  },
  {
    name: 'cong_avoid calls tcp_slow_start, tcp_cong_avoid_ai and cubictcp_cong_avoid',
    ...tcp,
    member: 'cong_avoid',
    text: `${SK}\nr1 = r6\nr2 = 2\ncall kfunc tcp_slow_start\nr1 = r6\nr2 = 10\nr3 = 1\ncall kfunc tcp_cong_avoid_ai\nr1 = r6\nr2 = 0\nr3 = 1\ncall kfunc cubictcp_cong_avoid\nexit`,
    want: OK,
  },
  {
    name: 'bpf_dummy_ops calls tcp_reno_ssthresh with its state',
    ...dummy,
    member: 'test_2',
    text: 'r1 = *(u64 *)(r1 + 0)\ncall kfunc tcp_reno_ssthresh\nexit',
    want: {
      pc: 1,
      re: /^kernel function tcp_reno_ssthresh args#0 expected pointer to STRUCT sock but R1 has a pointer to STRUCT bpf_dummy_ops_state$/,
    },
  },
  // bpf_dummy_ops: test_1's state may be NULL; the state is the only writable struct.
  {
    name: 'test_1 reads its state before a NULL check',
    ...dummy,
    member: 'test_1',
    text: 'r1 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r1 + 0)\nexit',
    want: at(1, "R1 invalid mem access 'trusted_ptr_or_null_'"),
  },
  {
    name: 'test_1 writes its state after a NULL check',
    ...dummy,
    member: 'test_1',
    text: 'r1 = *(u64 *)(r1 + 0)\nr0 = 0\nif r1 == 0 goto out\nr2 = 90\n*(u32 *)(r1 + 0) = r2\nout:\nexit',
    want: OK,
  },
  {
    name: 'test_2 writes its state unchecked, and reads its fifth argument',
    ...dummy,
    member: 'test_2',
    text: 'r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r1 + 32)\nr3 = 90\n*(u32 *)(r2 + 0) = r3\nexit',
    want: OK,
  },
  {
    name: 'test_2 writes past its state',
    ...dummy,
    member: 'test_2',
    text: 'r2 = *(u64 *)(r1 + 0)\nr3 = 90\n*(u32 *)(r2 + 4) = r3\nr0 = 0\nexit',
    want: at(2, 'write access at off 4 with size 4'),
  },
  {
    name: 'test_2 reads a sixth argument',
    ...dummy,
    member: 'test_2',
    text: 'r0 = *(u64 *)(r1 + 40)\nexit',
    want: at(0, 'invalid bpf_context access off=40 size=8'),
  },
  { name: 'test_1 returns without r0', ...dummy, member: 'test_1', text: 'exit', want: at(0, 'R0 !read_ok') },
];
