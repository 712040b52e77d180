/**
 * Programs calling the conntrack kfuncs and bpf_sock_destroy (src/verifier/nfct.ts), each with the verdict
 * Linux 6.18 gives: entries looked up, allocated, set up, inserted and released (leaks, NULL arguments,
 * nf_conn against nf_conn___init, the context and the tuple and options memory), nf_conn's `mark` written
 * and other fields not, the program types each set is registered for, and bpf_sock_destroy in iterators.
 * Written for these tests in the assembler of kfunc-cases.ts (`call kfunc NAME`, `off(struct.member)`).
 */
import type { Btf } from '../../src/btf/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { type VerifierMap, type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import { MapType } from '../../src/uapi/types.js';
import type { Want } from './expect.js';
import { TRACE_RAW_TP, kfuncProgram } from './kfunc-cases.js';

/** One program and what the kernel says of it. */
export interface NfctCase {
  name: string;
  type: number;
  /** Iterator programs: the target (`bpf_iter_<iter>`, BPF_TRACE_ITER). */
  iter?: string;
  /** tp_btf programs: the tracepoint. */
  tp?: string;
  /** The expected attach type, where neither `iter` nor `tp` gives it. */
  attach?: number;
  /** Map 0: an array whose 16-byte value holds a referenced kptr to this kernel struct at offset 0. */
  kptr?: string;
  /** Map 0: an array of u64s (when no `kptr`). */
  plainMap?: boolean;
  /** BPF_F_SLEEPABLE (syscall programs must be). */
  sleepable?: boolean;
  text: string;
  want: Want;
}

/** BPF_PROG_TYPE_TRACING and BPF_TRACE_ITER. */
export const TRACING = 26;
export const TRACE_ITER = 28;

const OK: Want = { ok: true };
const UNMODELLED: Want = { unmodelled: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.{}]/g, '\\$&')}$`) });

const TC = ProgType.SCHED_CLS;
const XDP = ProgType.XDP;
const LEAK = 'BPF_EXIT instruction in main prog would lead to reference leak';

/** Zeroed stack: a tuple at fp-16 (12 bytes used, ipv4), options at fp-32 (16 bytes); the context in r6. */
const PRE =
  'r6 = r1\nr2 = 0\n*(u64 *)(r10 - 8) = r2\n*(u64 *)(r10 - 16) = r2\n*(u64 *)(r10 - 24) = r2\n*(u64 *)(r10 - 32) = r2';
/** The five arguments of a lookup or an allocation, each replaceable. */
const args = (
  ctx = 'r1 = r6',
  tup = 'r2 = r10\nr2 += -16',
  tsz = 'r3 = 12',
  opts = 'r4 = r10\nr4 += -32',
  osz = 'r5 = 16',
) => `${ctx}\n${tup}\n${tsz}\n${opts}\n${osz}`;
/** A lookup (or allocation) with `a` as its arguments; the call is insn 13 with the default arguments. */
const look = (fn = 'bpf_skb_ct_lookup', a = args()) => `${PRE}\n${a}\ncall kfunc ${fn}`;
/** r0 released when not NULL. */
const REL = 'if r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_ct_release\nout:\nr0 = 0\nexit';
/** r0 (a looked-up entry) checked, `body` run with it in r0 and r1, then released. */
const withEntry = (body: string, fn = 'bpf_skb_ct_lookup') =>
  `${look(fn)}\nif r0 == 0 goto out\nr1 = r0\n${body}\ncall kfunc bpf_ct_release\nout:\nr0 = 0\nexit`;
const END = 'out:\nr0 = 0\nexit';

/** A syscall program (sleepable). */
const SYS = { type: 31, sleepable: true } as const;
/** bpf_crypto_ctx_create with its parameters at fp-408 (408 bytes), `err` and `size` replaceable (insn 4). */
const create = (err = 'r3 = r10\nr3 += -416', size = 'r2 = 408') =>
  `r1 = r10\nr1 += -408\n${size}\n${err}\ncall kfunc bpf_crypto_ctx_create`;
const RELEASE_CRYPTO = `if r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_crypto_ctx_release\n${END}`;
/** bpf_crypto_encrypt with every argument NULL (insn 4). */
const ENCRYPT_NULL = `r1 = 0\nr2 = 0\nr3 = 0\nr4 = 0\ncall kfunc bpf_crypto_encrypt\n${END}`;

/** kprobe programs attached as a kprobe session (BPF_TRACE_KPROBE_SESSION), and as a uprobe one. */
const SESSION = { type: ProgType.KPROBE, attach: 56 } as const;
const UPROBE_SESSION = { type: ProgType.KPROBE, attach: 57 } as const;
const COOKIE = 'call kfunc bpf_session_cookie';

/** Map 0's key 0 looked up into r0 (to `out` when NULL): insns 0-6. */
const LOOKUP = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nif r0 == 0 goto out';
/** The kptr taken out of the looked-up value (bpf_kptr_xchg with NULL), to `out` when NULL. */
const XCHG_OUT = `${LOOKUP}\nr1 = r0\nr2 = 0\ncall 194\nif r0 == 0 goto out`;
/** Two skb dynptrs, at fp-32 and fp-48, of the context in r6. */
const SKB_DYNPTRS =
  'r1 = r6\nr2 = 0\nr3 = r10\nr3 += -32\ncall kfunc bpf_dynptr_from_skb\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -48\ncall kfunc bpf_dynptr_from_skb';
/** The crypto context kptr loaded into r7 (RCU, checked), then the dynptrs; `src`, `dst`, `siv` set r2-r4. */
const crypt = (fn: string, src = 'r2 = r10\nr2 += -32', dst = 'r3 = r10\nr3 += -48', siv = 'r4 = 0', check = true) =>
  `r6 = r1\n${LOOKUP}\nr7 = *(u64 *)(r0 + 0)\n${check ? 'if r7 == 0 goto out\n' : ''}${SKB_DYNPTRS}\nr1 = r7\n${src}\n${dst}\n${siv}\ncall kfunc ${fn}\n${END}`;

/** bpf_xdp_get_xfrm_state on the context (kept in r6) with 40 zeroed bytes of options at fp-40 (insn 11). */
const xfrm = (opts = 'r2 = r10\nr2 += -40', size = 'r3 = 36') =>
  `r6 = r1\nr2 = 0\n${[8, 16, 24, 32, 40].map((o) => `*(u64 *)(r10 - ${o}) = r2`).join('\n')}\nr1 = r6\n${opts}\n${size}\ncall kfunc bpf_xdp_get_xfrm_state`;
const XFRM_REL = 'if r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_xdp_xfrm_state_release';

/** The context in r6, a tuple at fp-16 and request attributes at fp-40, zeroed. */
const REQ_PRE = `r6 = r1\nr2 = 0\n${[8, 16, 24, 32, 40].map((o) => `*(u64 *)(r10 - ${o}) = r2`).join('\n')}`;
/** A socket looked up by `helper` (bpf_sk_lookup_tcp, 84) into r0. */
const reqLookup = (helper = 84) => `r1 = r6\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = -1\nr5 = 0\ncall ${helper}`;
const ASSIGN = 'r1 = r6\nr2 = r7\nr3 = r10\nr3 += -40\nr4 = 20\ncall kfunc bpf_sk_assign_tcp_reqsk';
/**
 * A listener looked up (by `helper`), kept in r7, assigned a request socket (insn 21: r2 is r7, or what
 * `cast` (a helper number) made of it), then released.
 */
const reqsk = (cast?: number, helper = 84, size = 'r4 = 20', attrs = 'r3 = r10\nr3 += -40') => {
  const sk = cast ? `r1 = r0\ncall ${cast}\nif r0 == 0 goto rel\nr2 = r0` : 'r2 = r7';
  return `${REQ_PRE}\n${reqLookup(helper)}\nif r0 == 0 goto out\nr7 = r0\n${cast ? sk : ''}\nr1 = r6\n${cast ? '' : sk}\n${attrs}\n${size}\ncall kfunc bpf_sk_assign_tcp_reqsk\nrel:\nr1 = r7\ncall 86\n${END}`;
};

/** The cases. */
export const NFCT_CASES: readonly NfctCase[] = [
  // Lookups, by sched_cls and xdp, released or leaked.
  { name: 'skb lookup released', type: TC, text: `${look()}\n${REL}`, want: OK },
  { name: 'xdp lookup released', type: XDP, text: `${look('bpf_xdp_ct_lookup')}\n${REL}`, want: OK },
  { name: 'skb lookup leaked', type: TC, text: `${look()}\nr0 = 0\nexit`, want: at(15, LEAK) },
  {
    name: 'a lookup released before its NULL check',
    type: TC,
    text: `${look()}\nr1 = r0\ncall kfunc bpf_ct_release\nr0 = 0\nexit`,
    want: at(15, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // Every pointer argument is trusted: NULL refused for the tuple, the options and the context.
  {
    name: 'NULL tuple of size 0',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args('r1 = r6', 'r2 = 0', 'r3 = 0'))}\n${REL}`,
    want: at(12, 'Possibly NULL pointer passed to trusted arg1'),
  },
  {
    name: 'NULL options',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args(undefined, undefined, undefined, 'r4 = 0', 'r5 = 0'))}\n${REL}`,
    want: at(12, 'Possibly NULL pointer passed to trusted arg3'),
  },
  {
    name: 'NULL context',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args('r1 = 0'))}\n${REL}`,
    want: at(13, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // The context: the program's own, unmoved.
  {
    name: 'a stack pointer as the context',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args('r1 = r10\nr1 += -8'))}\n${REL}`,
    want: at(14, 'arg#0 expected pointer to ctx, but got fp'),
  },
  {
    name: 'a moved context',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args('r1 = r6\nr1 += 4'))}\n${REL}`,
    want: at(14, 'dereference of modified ctx ptr R1 off=4 disallowed'),
  },
  // The kernel refuses the other type's context as an untrusted object, a path bpfkit does not follow.
  { name: 'bpf_skb_ct_lookup in xdp', type: XDP, text: `${look()}\n${REL}`, want: UNMODELLED },
  // The memory, size pairs.
  {
    name: 'a tuple longer than its stack',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args(undefined, 'r2 = r10\nr2 += -8'))}\n${REL}`,
    want: at(13, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'options of 12 bytes',
    type: TC,
    text: `${look('bpf_skb_ct_lookup', args(undefined, undefined, undefined, undefined, 'r5 = 12'))}\n${REL}`,
    want: OK,
  },
  {
    name: 'options on stack never written (root may pass it)',
    type: TC,
    text: `r6 = r1\nr2 = 0\n*(u64 *)(r10 - 8) = r2\n*(u64 *)(r10 - 16) = r2\n${args(undefined, undefined, undefined, 'r4 = r10\nr4 += -48')}\ncall kfunc bpf_skb_ct_lookup\n${REL}`,
    want: OK,
  },
  // The program types of the set.
  {
    name: 'a lookup in cgroup_skb',
    type: ProgType.CGROUP_SKB,
    text: `${look()}\n${REL}`,
    want: at(13, 'calling kernel function bpf_skb_ct_lookup is not allowed'),
  },
  // Allocation, set-up and insertion: nf_conn___init until inserted, nf_conn after.
  {
    name: 'an allocated entry released as an nf_conn',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\n${REL}`,
    want: at(
      16,
      'kernel function bpf_ct_release args#0 expected pointer to STRUCT nf_conn but R1 has a pointer to STRUCT nf_conn___init',
    ),
  },
  {
    name: 'allocated, inserted, released',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_ct_insert_entry\n${REL}`,
    want: OK,
  },
  {
    name: 'the inserted entry leaked',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_ct_insert_entry\n${END}`,
    want: at(18, LEAK),
  },
  {
    name: 'xdp: allocated, set up, inserted, changed, released',
    type: XDP,
    text: `${look('bpf_xdp_ct_alloc')}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = 1000\ncall kfunc bpf_ct_set_timeout\nr1 = r7\nr2 = 0\ncall kfunc bpf_ct_set_status\nr1 = r7\ncall kfunc bpf_ct_insert_entry\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = 5\ncall kfunc bpf_ct_change_timeout\nr1 = r7\nr2 = 0\ncall kfunc bpf_ct_change_status\nr1 = r7\ncall kfunc bpf_ct_release\n${END}`,
    want: OK,
  },
  {
    name: 'inserted twice',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_ct_insert_entry\nif r0 == 0 goto out\nr1 = r0\nr7 = r0\ncall kfunc bpf_ct_insert_entry\n${REL}`,
    want: at(
      20,
      'kernel function bpf_ct_insert_entry args#0 expected pointer to STRUCT nf_conn___init but R1 has a pointer to STRUCT nf_conn',
    ),
  },
  {
    name: 'a looked-up entry given a timeout as if allocated (no-cast alias, not released)',
    type: TC,
    text: withEntry('r7 = r0\nr2 = 1\ncall kfunc bpf_ct_set_timeout\nr1 = r7'),
    want: at(
      18,
      'kernel function bpf_ct_set_timeout args#0 expected pointer to STRUCT nf_conn___init but R1 has a pointer to STRUCT nf_conn',
    ),
  },
  {
    name: 'an allocated entry given a status as if inserted',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = 1\ncall kfunc bpf_ct_change_status\nr1 = r7\ncall kfunc bpf_ct_release\n${END}`,
    want: at(
      18,
      'kernel function bpf_ct_change_status args#0 expected pointer to STRUCT nf_conn but R1 has a pointer to STRUCT nf_conn___init',
    ),
  },
  {
    name: 'a timeout changed before the NULL check',
    type: TC,
    text: `${look()}\nr7 = r0\nr1 = r0\nr2 = 1\ncall kfunc bpf_ct_change_timeout\nr1 = r7\ncall kfunc bpf_ct_release\nr0 = 0\nexit`,
    want: at(17, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // NAT set-up: the address is memory of its union's size.
  {
    name: 'NAT set on an allocated entry',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = r10\nr2 += -16\nr3 = 80\nr4 = 0\ncall kfunc bpf_ct_set_nat_info\nr1 = r7\ncall kfunc bpf_ct_insert_entry\n${REL}`,
    want: OK,
  },
  {
    name: 'a NAT address longer than its stack',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = r10\nr2 += -8\nr3 = 80\nr4 = 0\ncall kfunc bpf_ct_set_nat_info\nr1 = r7\ncall kfunc bpf_ct_insert_entry\n${REL}`,
    want: at(21, 'invalid read from stack R2 off=-8 size=16'),
  },
  {
    name: 'a NULL NAT address',
    type: TC,
    text: `${look('bpf_skb_ct_alloc')}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\nr2 = 0\nr3 = 80\nr4 = 0\ncall kfunc bpf_ct_set_nat_info\nr1 = r7\ncall kfunc bpf_ct_insert_entry\n${REL}`,
    want: at(20, 'Possibly NULL pointer passed to trusted arg1'),
  },
  {
    name: 'a stack pointer as an nf_conn',
    type: TC,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall kfunc bpf_ct_release\n${END}`,
    want: at(4, 'arg#0 pointer type STRUCT nf_conn must point to scalar, or struct with scalar'),
  },
  // Fields: read any, write only mark.
  { name: 'status read', type: TC, text: withEntry('r2 = *(u64 *)(r0 + off(nf_conn.status))'), want: OK },
  { name: 'mark written', type: TC, text: withEntry('r2 = 5\n*(u32 *)(r0 + off(nf_conn.mark)) = r2'), want: OK },
  {
    name: 'mark written with an immediate (xdp)',
    type: XDP,
    text: withEntry('*(u32 *)(r0 + off(nf_conn.mark)) = 5', 'bpf_xdp_ct_lookup'),
    want: OK,
  },
  {
    name: "mark's first byte written",
    type: TC,
    text: withEntry('r2 = 5\n*(u8 *)(r0 + off(nf_conn.mark)) = r2'),
    want: OK,
  },
  {
    name: 'mark written through a moved pointer',
    type: TC,
    text: `${look()}\nif r0 == 0 goto out\nr7 = r0\nr0 += 160\nr2 = 5\n*(u32 *)(r0 + 8) = r2\nr1 = r7\ncall kfunc bpf_ct_release\n${END}`,
    want: OK,
  },
  {
    name: 'eight bytes written at mark',
    type: TC,
    text: withEntry('r2 = 5\n*(u64 *)(r0 + off(nf_conn.mark)) = r2'),
    want: at(17, 'write access at off 168 with size 8 beyond the member of nf_conn ended at 172'),
  },
  {
    name: 'written inside mark',
    type: TC,
    text: withEntry('r2 = 5\n*(u16 *)(r0 + 170) = r2'),
    want: at(17, 'no write support to nf_conn at off 170'),
  },
  {
    name: 'status written',
    type: TC,
    text: withEntry('r2 = 5\n*(u64 *)(r0 + off(nf_conn.status)) = r2'),
    want: at(17, 'no write support to nf_conn at off 128'),
  },
  {
    name: 'mark written before the NULL check',
    type: TC,
    text: `${look()}\nr7 = r0\nr2 = 5\n*(u32 *)(r0 + 168) = r2\nr1 = r7\ncall kfunc bpf_ct_release\nr0 = 0\nexit`,
    want: at(16, "R0 invalid mem access 'ptr_or_null_'"),
  },
  {
    name: 'an atomic add to mark',
    type: TC,
    text: withEntry('r2 = 5\nlock *(u32 *)(r0 + 168) += r2'),
    want: UNMODELLED,
  },
  {
    name: "the mark of an entry's master (untrusted) written",
    type: TC,
    text: `${look()}\nif r0 == 0 goto out\nr7 = r0\nr1 = *(u64 *)(r0 + off(nf_conn.master))\nif r1 == 0 goto rel\nr2 = 1\n*(u32 *)(r1 + off(nf_conn.mark)) = r2\nrel:\nr1 = r7\ncall kfunc bpf_ct_release\n${END}`,
    want: at(19, 'only read is supported'),
  },
  {
    name: 'the mark of a cast nf_conn written',
    type: TC,
    text: 'r1 = 0\nr2 = btfid(nf_conn)\ncall kfunc bpf_rdonly_cast\nr2 = 1\n*(u32 *)(r0 + off(nf_conn.mark)) = r2\nr0 = 0\nexit',
    want: at(4, 'only read is supported'),
  },
  {
    name: 'written below an entry',
    type: TC,
    text: `${look()}\nif r0 == 0 goto out\nr7 = r0\nr0 += -8\nr2 = 1\n*(u32 *)(r0 + 0) = r2\nr1 = r7\ncall kfunc bpf_ct_release\n${END}`,
    want: at(18, 'R0 is ptr_nf_conn invalid negative access: off=-8'),
  },
  // bpf_sock_destroy: iterator programs, a trusted socket.
  {
    name: 'tcp socket destroyed',
    type: TRACING,
    iter: 'tcp',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\ncall kfunc bpf_sock_destroy\n${END}`,
    want: OK,
  },
  {
    name: 'udp socket destroyed',
    type: TRACING,
    iter: 'udp',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\ncall kfunc bpf_sock_destroy\n${END}`,
    want: OK,
  },
  {
    name: 'a tcp socket destroyed before its NULL check',
    type: TRACING,
    iter: 'tcp',
    text: `r1 = *(u64 *)(r1 + 8)\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: "the iterator's meta destroyed",
    type: TRACING,
    iter: 'tcp',
    text: `r1 = *(u64 *)(r1 + 0)\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(
      1,
      'kernel function bpf_sock_destroy args#0 expected pointer to STRUCT sock_common but R1 has a pointer to STRUCT bpf_iter_meta',
    ),
  },
  {
    name: 'a socket walked to (untrusted) destroyed',
    type: TRACING,
    iter: 'udp',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\nr1 = *(u64 *)(r1 + off(sock.sk_socket))\nif r1 == 0 goto out\nr1 = *(u64 *)(r1 + off(socket.sk))\nif r1 == 0 goto out\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(6, 'R1 must be referenced or trusted'),
  },
  {
    name: 'a moved socket destroyed',
    type: TRACING,
    iter: 'tcp',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\nr1 += 8\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(
      3,
      'kernel function bpf_sock_destroy args#0 expected pointer to STRUCT sock_common but R1 has a pointer to STRUCT sock_common',
    ),
  },
  {
    name: 'a unix socket (not trusted) destroyed',
    type: TRACING,
    iter: 'unix',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(2, 'R1 must be referenced or trusted'),
  },
  {
    name: 'bpf_sock_destroy in a task iterator',
    type: TRACING,
    iter: 'task',
    text: `r1 = 0\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'bpf_sock_destroy in sched_cls',
    type: TC,
    text: `r1 = 0\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(1, 'calling kernel function bpf_sock_destroy is not allowed'),
  },
  {
    name: 'bpf_sock_destroy in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: `r1 = 0\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(1, 'calling kernel function bpf_sock_destroy is not allowed'),
  },
  {
    name: 'an iterator context as a socket',
    type: TRACING,
    iter: 'tcp',
    text: `call kfunc bpf_sock_destroy\n${END}`,
    want: UNMODELLED,
  },
  // Crypto contexts: made, acquired and released by syscall programs (the parameters on a stack never
  // written, which root may pass), used by sched_cls, sched_act and xdp.
  { name: 'a crypto context made and released', ...SYS, text: `${create()}\n${RELEASE_CRYPTO}`, want: OK },
  { name: 'a crypto context leaked', ...SYS, text: `${create()}\n${END}`, want: at(7, LEAK) },
  {
    name: 'a NULL error pointer',
    ...SYS,
    text: `${create('r3 = 0')}\n${RELEASE_CRYPTO}`,
    want: at(4, 'Possibly NULL pointer passed to trusted arg2'),
  },
  {
    name: 'an error int past the stack (memory of the int)',
    ...SYS,
    text: `${create('r3 = r10\nr3 += -2')}\n${RELEASE_CRYPTO}`,
    want: at(5, 'invalid read from stack R3 off=-2 size=4'),
  },
  {
    name: 'parameters longer than the stack',
    ...SYS,
    text: `${create(undefined, 'r2 = 416')}\n${RELEASE_CRYPTO}`,
    want: at(5, 'arg#0 arg#1 memory, len pair leads to invalid memory access'),
  },
  { name: 'parameters of 8 bytes', ...SYS, text: `${create(undefined, 'r2 = 8')}\n${RELEASE_CRYPTO}`, want: OK },
  {
    name: 'a crypto context acquired, both released',
    ...SYS,
    text: `${create()}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall kfunc bpf_crypto_ctx_acquire\nif r0 == 0 goto rel\nr1 = r0\ncall kfunc bpf_crypto_ctx_release\nrel:\nr1 = r6\ncall kfunc bpf_crypto_ctx_release\n${END}`,
    want: OK,
  },
  {
    name: 'an acquired crypto context leaked',
    ...SYS,
    text: `${create()}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall kfunc bpf_crypto_ctx_acquire\nr1 = r6\ncall kfunc bpf_crypto_ctx_release\n${END}`,
    want: at(13, LEAK),
  },
  {
    name: 'a crypto context acquired before its NULL check',
    ...SYS,
    text: `${create()}\nr6 = r0\nr1 = r0\ncall kfunc bpf_crypto_ctx_acquire\n${END}`,
    want: at(8, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'a stack pointer released as a crypto context',
    ...SYS,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall kfunc bpf_crypto_ctx_release\n${END}`,
    want: at(4, 'arg#0 pointer type STRUCT bpf_crypto_ctx must point to scalar, or struct with scalar'),
  },
  {
    name: 'a crypto context made in sched_cls',
    type: TC,
    text: `${create()}\n${RELEASE_CRYPTO}`,
    want: at(5, 'calling kernel function bpf_crypto_ctx_create is not allowed'),
  },
  {
    name: 'bpf_crypto_encrypt in a syscall program',
    ...SYS,
    text: ENCRYPT_NULL,
    want: at(4, 'calling kernel function bpf_crypto_encrypt is not allowed'),
  },
  {
    name: 'bpf_crypto_encrypt in cgroup_skb',
    type: ProgType.CGROUP_SKB,
    text: ENCRYPT_NULL,
    want: at(4, 'calling kernel function bpf_crypto_encrypt is not allowed'),
  },
  {
    name: 'bpf_crypto_encrypt given NULL (sched_act)',
    type: ProgType.SCHED_ACT,
    text: ENCRYPT_NULL,
    want: at(4, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'bpf_crypto_decrypt given a stack pointer as its context (xdp)',
    type: XDP,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 0\nr3 = 0\nr4 = 0\ncall kfunc bpf_crypto_decrypt\n${END}`,
    want: at(7, 'arg#0 pointer type STRUCT bpf_crypto_ctx must point to scalar, or struct with scalar'),
  },
  // Session programs: an 8-byte cookie, writable; a return of 0 or 1.
  {
    name: 'the session cookie written and read',
    ...SESSION,
    text: `${COOKIE}\nr1 = 5\n*(u64 *)(r0 + 0) = r1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: "the cookie's second half written",
    ...SESSION,
    text: `${COOKIE}\nr1 = 5\n*(u32 *)(r0 + 4) = r1\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'written past the cookie',
    ...SESSION,
    text: `${COOKIE}\nr1 = 5\n*(u64 *)(r0 + 4) = r1\nr0 = 0\nexit`,
    want: at(2, 'R0 min value is outside of the allowed memory range'),
  },
  {
    name: 'the cookie never NULL (a check is dead code)',
    ...SESSION,
    text: `${COOKIE}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\n${END}`,
    want: OK,
  },
  {
    name: 'the cookie returned',
    ...SESSION,
    text: `${COOKIE}\nexit`,
    want: at(1, 'At program exit the register R0 is not a known value (mem)'),
  },
  { name: 'bpf_session_is_return', ...SESSION, text: 'call kfunc bpf_session_is_return\nr0 &= 1\nexit', want: OK },
  { name: 'the cookie of a uprobe session', ...UPROBE_SESSION, text: `${COOKIE}\nr0 = 0\nexit`, want: OK },
  {
    name: 'a session returning 2',
    ...SESSION,
    text: 'r0 = 2\nexit',
    want: at(1, 'At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]'),
  },
  {
    name: 'a uprobe session returning the frame pointer',
    ...UPROBE_SESSION,
    text: 'r0 = r10\nexit',
    want: at(1, 'At program exit the register R0 is not a known value (fp)'),
  },
  { name: 'a plain kprobe returning the frame pointer', type: ProgType.KPROBE, text: 'r0 = r10\nexit', want: OK },
  {
    name: 'the cookie of a plain kprobe',
    type: ProgType.KPROBE,
    text: `${COOKIE}\nr0 = 0\nexit`,
    want: at(0, 'calling kernel function bpf_session_cookie is not allowed'),
  },
  {
    name: 'the cookie of a kprobe_multi program',
    type: ProgType.KPROBE,
    attach: 42,
    text: `${COOKIE}\nr0 = 0\nexit`,
    want: at(0, 'calling kernel function bpf_session_cookie is not allowed'),
  },
  {
    name: 'the cookie in sched_cls',
    type: TC,
    text: `${COOKIE}\nr0 = 0\nexit`,
    want: at(0, 'calling kernel function bpf_session_cookie is not allowed'),
  },
  // bpf_map_sum_elem_count: every program type, a trusted map (a map iterator's).
  {
    name: "a map iterator's map counted",
    type: TRACING,
    iter: 'bpf_map',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: OK,
  },
  {
    name: "a map iterator's map counted before its NULL check",
    type: TRACING,
    iter: 'bpf_map',
    text: `r1 = *(u64 *)(r1 + 8)\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: "a map iterator's meta counted",
    type: TRACING,
    iter: 'bpf_map',
    text: `r1 = *(u64 *)(r1 + 0)\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(
      1,
      'kernel function bpf_map_sum_elem_count args#0 expected pointer to STRUCT bpf_map but R1 has a pointer to STRUCT bpf_iter_meta',
    ),
  },
  {
    name: 'an untrusted pointer (a walk) counted',
    type: TRACING,
    iter: 'task',
    text: `r1 = *(u64 *)(r1 + 8)\nif r1 == 0 goto out\nr1 = *(u64 *)(r1 + off(task_struct.mm))\nif r1 == 0 goto out\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(4, 'R1 must be referenced or trusted'),
  },
  {
    name: 'a stack pointer counted (sched_cls)',
    type: TC,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(4, 'arg#0 pointer type STRUCT bpf_map must point to scalar, or struct with scalar'),
  },
  {
    name: 'a map pointer counted (sched_cls)',
    type: TC,
    plainMap: true,
    text: `r1 = map 0\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: OK,
  },
  {
    name: 'a map pointer counted (xdp)',
    type: XDP,
    plainMap: true,
    text: `r1 = map 0\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: OK,
  },
  {
    name: 'a map value counted',
    type: TC,
    plainMap: true,
    text: `${LOOKUP}\nr1 = r0\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(9, 'arg#0 pointer type STRUCT bpf_map must point to scalar, or struct with scalar'),
  },
  {
    name: 'a map pointer destroyed as a socket',
    type: TRACING,
    iter: 'tcp',
    plainMap: true,
    text: `r1 = map 0\ncall kfunc bpf_sock_destroy\n${END}`,
    want: at(
      2,
      'kernel function bpf_sock_destroy args#0 expected pointer to STRUCT sock_common but R1 has a pointer to STRUCT bpf_map',
    ),
  },
  {
    name: 'NULL counted (tp_btf)',
    type: TRACING,
    tp: 'task_newtask',
    text: `r1 = 0\ncall kfunc bpf_map_sum_elem_count\n${END}`,
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // bpf_crypto_encrypt / _decrypt on a crypto context kept as a kptr (loaded RCU) over skb dynptrs.
  { name: 'encrypted', type: TC, kptr: 'bpf_crypto_ctx', text: crypt('bpf_crypto_encrypt'), want: OK },
  {
    name: 'encrypted with an IV',
    type: TC,
    kptr: 'bpf_crypto_ctx',
    text: crypt('bpf_crypto_encrypt', undefined, undefined, 'r4 = r10\nr4 += -32'),
    want: OK,
  },
  {
    name: 'decrypted from a dynptr never made',
    type: TC,
    kptr: 'bpf_crypto_ctx',
    text: crypt('bpf_crypto_decrypt', 'r2 = r10\nr2 += -64'),
    want: at(27, 'Expected an initialized dynptr as arg #1'),
  },
  {
    name: 'decrypted into a dynptr at an offset',
    type: TC,
    kptr: 'bpf_crypto_ctx',
    text: crypt('bpf_crypto_decrypt', undefined, 'r3 = r10\nr3 += -44'),
    want: at(27, 'Expected an initialized dynptr as arg #2'),
  },
  {
    name: 'decrypted into a map value',
    type: TC,
    kptr: 'bpf_crypto_ctx',
    text: crypt('bpf_crypto_decrypt', undefined, 'r3 = r0'),
    want: at(26, 'arg#2 expected pointer to stack or const struct bpf_dynptr'),
  },
  {
    name: 'encrypted with a context not checked for NULL',
    type: TC,
    kptr: 'bpf_crypto_ctx',
    text: crypt('bpf_crypto_encrypt', undefined, undefined, undefined, false),
    want: at(26, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // bpf_kfunc_call_test_release: a prog_test_ref_kfunc taken out of a map.
  {
    name: 'a test object taken out and released',
    type: TC,
    kptr: 'prog_test_ref_kfunc',
    text: `${XCHG_OUT}\nr1 = r0\ncall kfunc bpf_kfunc_call_test_release\n${END}`,
    want: OK,
  },
  {
    name: 'a test object taken out and leaked',
    type: TC,
    kptr: 'prog_test_ref_kfunc',
    text: `${XCHG_OUT}\n${END}`,
    want: at(13, LEAK),
  },
  {
    name: 'a test object released before its NULL check',
    type: TC,
    kptr: 'prog_test_ref_kfunc',
    text: `${LOOKUP}\nr1 = r0\nr2 = 0\ncall 194\nr1 = r0\ncall kfunc bpf_kfunc_call_test_release\n${END}`,
    want: at(12, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'a loaded (RCU, unreferenced) test object released',
    type: TC,
    kptr: 'prog_test_ref_kfunc',
    text: `${LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nif r1 == 0 goto out\ncall kfunc bpf_kfunc_call_test_release\n${END}`,
    want: at(10, 'R1 must be referenced or trusted'),
  },
  {
    name: 'bpf_kfunc_call_test_release in xdp',
    type: XDP,
    text: `r1 = 0\ncall kfunc bpf_kfunc_call_test_release\n${END}`,
    want: at(1, 'calling kernel function bpf_kfunc_call_test_release is not allowed'),
  },
  {
    name: 'bpf_kfunc_call_test_release of NULL in tp_btf',
    type: TRACING,
    tp: 'task_newtask',
    text: `r1 = 0\ncall kfunc bpf_kfunc_call_test_release\n${END}`,
    want: at(1, 'Possibly NULL pointer passed to trusted arg0'),
  },
  // bpf_xdp_get_xfrm_state: xdp only, options memory, a reference given back.
  { name: 'an xfrm state looked up and released', type: XDP, text: `${xfrm()}\n${XFRM_REL}\n${END}`, want: OK },
  { name: 'an xfrm state leaked', type: XDP, text: `${xfrm()}\n${END}`, want: at(13, LEAK) },
  {
    name: "an xfrm state's refcount read",
    type: XDP,
    text: `${xfrm()}\nif r0 == 0 goto out\nr1 = r0\nr2 = *(u32 *)(r0 + 104)\ncall kfunc bpf_xdp_xfrm_state_release\n${END}`,
    want: OK,
  },
  {
    name: "an xfrm state's refcount written",
    type: XDP,
    text: `${xfrm()}\nif r0 == 0 goto out\nr1 = r0\nr2 = 1\n*(u32 *)(r0 + 104) = r2\ncall kfunc bpf_xdp_xfrm_state_release\n${END}`,
    want: at(15, 'only read is supported'),
  },
  {
    name: 'xfrm options longer than the stack',
    type: XDP,
    text: `${xfrm('r2 = r10\nr2 += -8')}\n${XFRM_REL}\n${END}`,
    want: at(11, 'arg#1 arg#2 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'NULL xfrm options',
    type: XDP,
    text: `${xfrm('r2 = 0', 'r3 = 0')}\n${XFRM_REL}\n${END}`,
    want: at(10, 'Possibly NULL pointer passed to trusted arg1'),
  },
  {
    name: 'an xfrm state looked up in sched_cls',
    type: TC,
    text: `${xfrm()}\n${XFRM_REL}\n${END}`,
    want: at(11, 'calling kernel function bpf_xdp_get_xfrm_state is not allowed'),
  },
  {
    name: 'an xfrm state released twice',
    type: XDP,
    text: `${xfrm()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\ncall kfunc bpf_xdp_xfrm_state_release\nr1 = r7\ncall kfunc bpf_xdp_xfrm_state_release\n${END}`,
    want: at(17, 'arg#0 pointer type STRUCT xfrm_state must point to scalar, or struct with scalar'),
  },
  // bpf_sk_assign_tcp_reqsk: sched_cls; a socket a lookup helper returned passes as its struct.
  { name: 'a request socket for a looked-up listener', type: TC, text: reqsk(), want: OK },
  { name: 'a request socket for a tcp_sock', type: TC, text: reqsk(96), want: OK },
  {
    name: 'a request socket for a sock_common',
    type: TC,
    text: reqsk(undefined, 99),
    want: at(
      21,
      'kernel function bpf_sk_assign_tcp_reqsk args#1 expected pointer to STRUCT sock but R2 has a pointer to STRUCT sock_common',
    ),
  },
  {
    name: 'a request socket for a listener not checked for NULL',
    type: TC,
    text: `${REQ_PRE}\n${reqLookup()}\nr7 = r0\n${ASSIGN}\nif r7 == 0 goto out\nr1 = r7\ncall 86\n${END}`,
    want: at(20, 'Possibly NULL pointer passed to trusted arg1'),
  },
  {
    name: 'request attributes of no size',
    type: TC,
    text: reqsk(undefined, undefined, 'r4 = 0'),
    want: OK,
  },
  {
    name: 'request attributes longer than the stack',
    type: TC,
    text: reqsk(undefined, undefined, 'r4 = 20', 'r3 = r10\nr3 += -8'),
    want: at(21, 'arg#2 arg#3 memory, len pair leads to invalid memory access'),
  },
  {
    name: 'a request socket in xdp',
    type: XDP,
    text: reqsk(),
    want: at(21, 'calling kernel function bpf_sk_assign_tcp_reqsk is not allowed'),
  },
];

/** A case's maps: map 0 holds its kptr, if it names one. */
export function mapsOf(c: NfctCase): VerifierMap[] {
  if (c.plainMap)
    return [{ name: 'pm', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, readOnly: false }];
  if (!c.kptr) return [];
  const field = { off: 0, size: 8, what: '__kptr', target: c.kptr };
  return [
    {
      name: 'km',
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 16,
      maxEntries: 1,
      readOnly: false,
      kernelFields: [field],
    },
  ];
}

/** The expected attach type and the BTF name a case attaches to, if any. */
export function attachOf(c: NfctCase): { attachType?: number; attachBtfName?: string } {
  if (c.iter) return { attachType: TRACE_ITER, attachBtfName: `bpf_iter_${c.iter}` };
  if (c.tp) return { attachType: TRACE_RAW_TP, attachBtfName: `btf_trace_${c.tp}` };
  return c.attach === undefined ? {} : { attachType: c.attach };
}

/** bpfkit's verdict on a case. */
export function nfctVerdict(btf: Btf, c: NfctCase): VerifyResult {
  return verifyInstructions(kfuncProgram(btf, c.text), {
    type: c.type,
    kernelBtf: btf,
    maps: mapsOf(c),
    ...attachOf(c),
    ...(c.sleepable ? { sleepable: true } : {}),
  });
}

/** bpf_wq_init cases: C programs (the work item's map comes from its BTF), compiled by clang. */
export interface WqCase {
  name: string;
  /** The body of `int prog(void *ctx)`, a sched_cls program. */
  body: string;
  /** The kernel's last line, or ok. */
  want: 'ok' | RegExp;
}

/** The fixture: bpf_wq_init declared, two maps whose value holds a bpf_wq at offset 8, one of u64s. */
export const WQ_HEADER = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
extern int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags) __ksym;
struct wval { __u64 a; struct bpf_wq w; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct wval); } wm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct wval); } wm2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } plain SEC(".maps");
char _license[] SEC("license") = "GPL";
`;

const WQ_LOOKUP = '__u32 k = 0; struct wval *v = bpf_map_lookup_elem(&wm, &k); if (!v) return 0;';

/** The cases. */
export const WQ_CASES: readonly WqCase[] = [
  {
    name: 'work item initialized for its map',
    body: `${WQ_LOOKUP} return bpf_wq_init(&v->w, &wm, 0) & 1;`,
    want: 'ok',
  },
  {
    name: 'for another map with work items',
    body: `${WQ_LOOKUP} return bpf_wq_init(&v->w, &wm2, 0) & 1;`,
    want: /^workqueue pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0$/,
  },
  {
    name: 'for a map of plain words',
    body: `${WQ_LOOKUP} return bpf_wq_init(&v->w, &plain, 0) & 1;`,
    want: /^workqueue pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0$/,
  },
  {
    name: 'for a stack pointer as the map',
    body: `${WQ_LOOKUP} return bpf_wq_init(&v->w, &k, 0) & 1;`,
    want: /^pointer in R2 isn't map pointer$/,
  },
  {
    name: "the value's first word as the work item",
    body: `${WQ_LOOKUP} return bpf_wq_init((struct bpf_wq *)&v->a, &wm, 0) & 1;`,
    want: /^off 0 doesn't point to 'struct bpf_wq' that is at 8$/,
  },
  {
    name: 'a work item on the stack',
    body: 'struct bpf_wq w = {}; return bpf_wq_init(&w, &wm, 0) & 1;',
    want: /^arg#0 doesn't point to a map value$/,
  },
  {
    name: 'a NULL work item',
    body: 'return bpf_wq_init((void *)0, &wm, 0) & 1;',
    want: /^Possibly NULL pointer passed to trusted arg0$/,
  },
];
