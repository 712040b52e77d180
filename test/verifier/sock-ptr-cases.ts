/**
 * Socket pointer programs (src/verifier/sock-ptr.ts), each with the verdict the running kernel (6.18)
 * gives: socket lookups and their references, bpf_sk_release, the casts (bpf_sk_fullsock, bpf_tcp_sock,
 * bpf_get_listener_sock), loads through sock, sock_common and tcp_sock, stores and pointer arithmetic,
 * and the program types that have these helpers. `label:` lines and `goto label`, `call label` (a local
 * call) and `rX = func label` keep the offsets readable.
 */
import { ProgType } from '../../src/uapi/types.js';
import type { Instruction } from '../../src/isa/index.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build } from './boundary-programs.js';
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface SockCase {
  name: string;
  type: number;
  attach?: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });

/** Assemble, resolving `name:` labels and `goto name` / `if ... goto name` jumps. */
export function sockProgram(text: string): Instruction[] {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const labels = new Map<string, number>();
  const body: string[] = [];
  for (const l of lines) {
    const m = /^([A-Za-z_]\w*):$/.exec(l);
    if (m) labels.set(m[1]!, body.length);
    else body.push(l);
  }
  // Every line is one instruction but the lddws (`= ... ll`, `= map N`, `= func label`: two slots).
  const slot: number[] = [];
  let n = 0;
  for (const l of body) {
    slot.push(n);
    n += / ll$|^r\d+ = (map|map_value|func) /.test(l) ? 2 : 1;
  }
  const slotOf = (i: number) => (i < slot.length ? slot[i]! : n);
  return build(
    body
      .map((l, i) =>
        l.replace(/(goto|call|func) ([A-Za-z_]\w*)$/, (_, op: string, name: string) => {
          const to = labels.get(name);
          if (to === undefined) throw new Error(`no label ${name}`);
          const off = slotOf(to) - slotOf(i) - 1;
          return `${op === 'call' ? 'call pc' : op} ${off >= 0 ? '+' : ''}${off}`;
        }),
      )
      .join('\n'),
  );
}

const { SCHED_CLS, XDP, SK_SKB, CGROUP_SKB, SOCKET_FILTER, SOCK_OPS, SK_MSG, CGROUP_SOCK_ADDR, SK_REUSEPORT } =
  ProgType;
const SK_LOOKUP = 30;
const CGROUP_SOCKOPT = 25;

/** A lookup of a zeroed 12-byte tuple on the stack with helper `id`; the call is insn 8, r0 its result. */
const lookup = (id = 84) => `
  r2 = 0
  *(u64 *)(r10 - 8) = r2
  *(u64 *)(r10 - 16) = r2
  r2 = r10
  r2 += -16
  r3 = 12
  r4 = 0
  r5 = 0
  call ${id}`;
/** A socket map (SOCKMAP), one entry of a u32 key and a u32 value (a socket's fd from userspace). */
const SOCKMAP: VerifierMap = { name: 'sm', type: 15, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false };
/** An XSKMAP (AF_XDP sockets by queue), four entries. */
const XSKMAP: VerifierMap = { name: 'xsks', type: 17, keySize: 4, valueSize: 4, maxEntries: 4, readOnly: false };
/** A lookup of key 0 in map 0; the call is insn 6, r0 its result. */
const mapLookup = `
  r2 = 0
  *(u32 *)(r10 - 4) = r2
  r1 = map 0
  r2 = r10
  r2 += -4
  call 1`;
/** Release r0 if it is not NULL, return 0 (insn +0: the check, +2: the call). */
const releaseR0 = `
  if r0 == 0 goto out
  r1 = r0
  call 86
out:
  r0 = 0
  exit`;
const ret0 = `r0 = 0\nexit`;

export const SOCK_CASES: SockCase[] = [
  { name: 'tc: lookup_tcp, released', type: SCHED_CLS, text: lookup() + releaseR0, want: OK },
  { name: 'tc: lookup_udp, released', type: SCHED_CLS, text: lookup(85) + releaseR0, want: OK },
  { name: 'tc: skc_lookup_tcp, released', type: SCHED_CLS, text: lookup(99) + releaseR0, want: OK },
  {
    name: 'tc: lookup, not released',
    type: SCHED_CLS,
    text: `${lookup()}\n${ret0}`,
    want: at(10, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: lookup, released only when not NULL (null side gives it back)',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 != 0 goto rel\n${ret0}\nrel:\nr1 = r0\ncall 86\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: lookup, leaked on the non-NULL side',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr0 = 0\nexit\nout:\n${ret0}`,
    want: at(11, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: release before the NULL check',
    type: SCHED_CLS,
    text: `${lookup()}\nr1 = r0\ncall 86\n${ret0}`,
    want: at(10, 'R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: released twice',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 86\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: at(14, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: a copy used after the release',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 86\nr0 = *(u32 *)(r6 + 4)\nout:\n${ret0}`,
    want: at(13, "R6 invalid mem access 'scalar'"),
  },
  {
    name: 'tc: a copy made before the NULL check is non-NULL too',
    type: SCHED_CLS,
    text: `${lookup()}\nr6 = r0\nif r0 == 0 goto out\nr2 = *(u32 *)(r6 + 4)\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: sock fields: family, dst_port (2), dst_ip6 byte, state, rx_queue_mapping',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 4)\nr2 = *(u16 *)(r0 + 48)\nr2 = *(u8 *)(r0 + 57)\nr2 = *(u32 *)(r0 + 72)\nr2 = *(u32 *)(r0 + 76)\nr2 = *(u32 *)(r0 + 8)\nr2 = *(u32 *)(r0 + 16)\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: sock read through sock_or_null',
    type: SCHED_CLS,
    text: `${lookup()}\nr2 = *(u32 *)(r0 + 4)\n${ret0}`,
    want: at(9, "R0 invalid mem access 'sock_or_null'"),
  },
  {
    name: 'tc: sock field written',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = 1\n*(u32 *)(r0 + 16) = r2\nout:\n${ret0}`,
    want: at(11, 'R0 cannot write into sock'),
  },
  {
    name: 'tc: sock misaligned read',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 2)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock access off=2 size=4'),
  },
  {
    name: 'tc: sock dst_port padding',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u16 *)(r0 + 50)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock access off=50 size=2'),
  },
  {
    name: 'tc: sock past the end',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 80)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock access off=80 size=4'),
  },
  {
    name: 'tc: sock family read narrowly at +1',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u8 *)(r0 + 5)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock access off=5 size=1'),
  },
  {
    name: 'tc: sock 8-byte read',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(u64 *)(r0 + 0)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock access off=0 size=8'),
  },
  {
    name: 'tc: sock sign-extending read',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr2 = *(s32 *)(r0 + 4)\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: sock += 4',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr0 += 4\nout:\n${ret0}`,
    want: at(10, 'R0 pointer arithmetic on sock prohibited'),
  },
  {
    name: 'tc: sock_or_null += 4',
    type: SCHED_CLS,
    text: `${lookup()}\nr0 += 4\n${ret0}`,
    want: at(9, 'R0 pointer arithmetic on sock_or_null prohibited, null-check it first'),
  },
  {
    name: 'tc: sock_common fields: family ok, type refused',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 4)\nr2 = *(u32 *)(r0 + 8)\nout:\n${ret0}`,
    want: at(11, 'R0 invalid sock_common access off=8 size=4'),
  },
  {
    name: 'tc: sock_common priority refused',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 20)\nout:\n${ret0}`,
    want: at(10, 'R0 invalid sock_common access off=20 size=4'),
  },
  {
    name: 'tc: sock_common state and dst_ip4 read',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 72)\nr2 = *(u32 *)(r0 + 52)\nr2 = *(u32 *)(r0 + 24)\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: fullsock of a looked-up sock_common, released through the cast',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 95\nif r0 == 0 goto rel\nr2 = *(u32 *)(r0 + 16)\nr1 = r0\ncall 86\n${ret0}\nrel:\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: fullsock NULL does not release the lookup',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 95\nif r0 != 0 goto rel\n${ret0}\nrel:\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: at(15, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: the lookup used after its cast was released',
    type: SCHED_CLS,
    text: `${lookup(99)}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 95\nif r0 == 0 goto rel\nr1 = r0\ncall 86\nr2 = *(u32 *)(r6 + 4)\n${ret0}\nrel:\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: at(16, "R6 invalid mem access 'scalar'"),
  },
  {
    name: 'tc: skb->sk fullsock and tcp_sock',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 95\nif r0 == 0 goto out\nr1 = r0\ncall 96\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 0)\nr2 = *(u64 *)(r0 + 80)\nr2 = *(u32 *)(r0 + 108)\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: tcp_sock bytes_acked read as u32',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 96\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 88)\nout:\n${ret0}`,
    want: at(4, 'R0 invalid tcp_sock access off=88 size=4'),
  },
  {
    name: 'tc: tcp_sock past icsk_retransmits',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 96\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 112)\nout:\n${ret0}`,
    want: at(4, 'R0 invalid tcp_sock access off=112 size=4'),
  },
  {
    name: 'tc: tcp_sock narrow read',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 96\nif r0 == 0 goto out\nr2 = *(u16 *)(r0 + 0)\nout:\n${ret0}`,
    want: at(4, 'R0 invalid tcp_sock access off=0 size=2'),
  },
  {
    name: 'tc: tcp_sock written',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 96\nif r0 == 0 goto out\n*(u32 *)(r0 + 0) = 1\nout:\n${ret0}`,
    want: at(4, 'R0 cannot write into tcp_sock'),
  },
  {
    name: 'tc: fullsock of skb->sk not NULL-checked',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\ncall 95\n${ret0}`,
    want: at(1, 'R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock'),
  },
  {
    name: 'tc: fullsock of a scalar',
    type: SCHED_CLS,
    text: `r1 = 0\ncall 95\n${ret0}`,
    want: at(1, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock'),
  },
  {
    name: 'tc: fullsock of ctx',
    type: SCHED_CLS,
    text: `call 95\n${ret0}`,
    want: at(0, 'R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock'),
  },
  {
    name: 'tc: release skb->sk (no reference)',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 86\nout:\n${ret0}`,
    want: at(2, 'R1 must be referenced when passed to release function'),
  },
  {
    name: 'tc: release a listener sock (no reference)',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 98\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 4)\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: at(6, 'R1 must be referenced when passed to release function'),
  },
  {
    name: 'tc: release a scalar',
    type: SCHED_CLS,
    text: `r1 = 0\ncall 86\n${ret0}`,
    want: at(1, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: release a stack pointer',
    type: SCHED_CLS,
    text: `r1 = r10\nr1 += -8\ncall 86\n${ret0}`,
    want: at(2, 'R1 type=fp expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: tail call holding a socket',
    type: SCHED_CLS,
    maps: [{ name: 'jmp', type: 3, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false }],
    text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = map 0\nr3 = 0\ncall 12\nr1 = r7\ncall 86\nout:\n${ret0}`,
    want: at(16, 'tail_call would lead to reference leak'),
  },
  {
    name: 'tc: LD_ABS holding a socket',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr0 = *(u8 *)skb[0]\nr1 = r7\ncall 86\nout:\n${ret0}`,
    want: at(12, 'BPF_LD_[ABS|IND] would lead to reference leak'),
  },
  {
    name: 'tc: the same load through a sock and a sock_common',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr1 = *(u64 *)(r6 + 168)\nif r1 == 0 goto rel\nr8 = r1\nr2 = *(u32 *)(r6 + 0)\nif r2 == 0 goto both\nr8 = r7\nboth:\nr2 = *(u32 *)(r8 + 4)\nrel:\nr1 = r7\ncall 86\nout:\n${ret0}`,
    want: at(18, 'same insn cannot be used with different pointers'),
  },
  {
    name: 'tc: the same load through a sock and a tcp_sock',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\ncall 96\nif r0 == 0 goto rel\nr8 = r0\nr2 = *(u32 *)(r6 + 0)\nif r2 == 0 goto both\nr8 = r7\nboth:\nr2 = *(u32 *)(r8 + 4)\nrel:\nr1 = r7\ncall 86\nout:\n${ret0}`,
    want: at(19, 'same insn cannot be used with different pointers'),
  },
  {
    name: 'tc: the same load through two socks',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr1 = r0\ncall 95\nif r0 == 0 goto rel\nr8 = r0\nr2 = *(u32 *)(r6 + 0)\nif r2 == 0 goto both\nr8 = r7\nboth:\nr2 = *(u32 *)(r8 + 4)\nrel:\nr1 = r7\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: a socket spilled and filled',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\n*(u64 *)(r10 - 24) = r0\nr1 = *(u64 *)(r10 - 24)\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: lookup with a zero-sized tuple',
    type: SCHED_CLS,
    text: `r2 = r10\nr2 += -16\nr3 = 0\nr4 = 0\nr5 = 0\ncall 84\n${releaseR0}`,
    want: OK,
  },
  {
    name: 'tc: lookup with an uninitialized tuple',
    type: SCHED_CLS,
    text: `r2 = r10\nr2 += -16\nr3 = 12\nr4 = 0\nr5 = 0\ncall 84\n${releaseR0}`,
    want: OK,
  },
  {
    name: 'tc: looked up in a static subprogram, released by the caller',
    type: SCHED_CLS,
    text: `call sub\n${releaseR0}\nsub:\n${lookup()}\nexit`,
    want: OK,
  },
  {
    name: 'tc: looked up in a static subprogram, not released',
    type: SCHED_CLS,
    text: `call sub\n${ret0}\nsub:\n${lookup()}\nexit`,
    want: at(2, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: looked up in a bpf_loop callback, not released',
    type: SCHED_CLS,
    text: `r6 = r1\nr1 = 1\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 181\n${ret0}\ncb:\nr1 = r6\n${lookup()}\nr0 = 0\nexit`,
    want: at(2, 'missing btf func_info'),
  },
  {
    name: 'tc: bpf_loop called while holding a socket',
    type: SCHED_CLS,
    text: `${lookup()}\nr6 = r0\nr1 = 1\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 181\nr0 = r6\n${releaseR0}\ncb:\nr0 = 0\nexit`,
    want: at(11, 'missing btf func_info'),
  },
  { name: 'xdp: lookup_tcp released', type: XDP, text: lookup() + releaseR0, want: OK },
  {
    name: 'xdp: fullsock',
    type: XDP,
    text: `r1 = 0\ncall 95\n${ret0}`,
    want: at(1, 'program of this type cannot use helper bpf_sk_fullsock#95'),
  },
  { name: 'sk_skb: skc_lookup released', type: SK_SKB, text: lookup(99) + releaseR0, want: OK },
  {
    name: 'cgroup_skb: lookup_udp released',
    type: CGROUP_SKB,
    text: `${lookup(85)}\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'cgroup_skb: skb->sk listener sock',
    type: CGROUP_SKB,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 98\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 72)\nout:\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'socket_filter: lookup',
    type: SOCKET_FILTER,
    text: lookup() + releaseR0,
    want: at(8, 'program of this type cannot use helper bpf_sk_lookup_tcp#84'),
  },
  {
    name: 'sock_addr connect4: lookup released',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: `${lookup()}\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sock_addr connect4: ctx->sk fields',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: `r1 = *(u64 *)(r1 + 64)\nr2 = *(u32 *)(r1 + 16)\nr2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sock_ops: tcp_sock of ctx->sk',
    type: SOCK_OPS,
    attach: 3,
    text: `r1 = *(u64 *)(r1 + 184)\nif r1 == 0 goto out\ncall 96\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 4)\nout:\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sock_ops: fullsock',
    type: SOCK_OPS,
    attach: 3,
    text: `r1 = *(u64 *)(r1 + 184)\nif r1 == 0 goto out\ncall 95\nout:\nr0 = 1\nexit`,
    want: at(2, 'program of this type cannot use helper bpf_sk_fullsock#95'),
  },
  {
    name: 'sk_lookup: release ctx->sk',
    type: SK_LOOKUP,
    attach: 36,
    text: `r1 = *(u64 *)(r1 + 0)\nif r1 == 0 goto out\ncall 86\nout:\nr0 = 1\nexit`,
    want: at(2, 'R1 must be referenced when passed to release function'),
  },
  {
    name: 'sk_lookup: ctx->sk read before the NULL check',
    type: SK_LOOKUP,
    attach: 36,
    text: `r1 = *(u64 *)(r1 + 0)\nr2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit`,
    want: at(1, "R1 invalid mem access 'sock_or_null'"),
  },
  {
    name: 'sk_msg: ctx->sk fields',
    type: SK_MSG,
    attach: 7,
    text: `r1 = *(u64 *)(r1 + 72)\nr2 = *(u32 *)(r1 + 4)\nr2 = *(u32 *)(r1 + 80)\nr0 = 1\nexit`,
    want: at(2, 'R1 invalid sock access off=80 size=4'),
  },
  {
    name: 'getsockopt: tcp_sock of ctx->sk',
    type: CGROUP_SOCKOPT,
    attach: 21,
    text: `r1 = *(u64 *)(r1 + 0)\ncall 96\nif r0 == 0 goto out\nr2 = *(u32 *)(r0 + 0)\nout:\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sk_reuseport: cookie of ctx->sk and of NULL',
    type: SK_REUSEPORT,
    attach: 39,
    text: `r6 = r1\nr1 = *(u64 *)(r6 + 40)\ncall 46\nr1 = 0\ncall 46\nr1 = *(u64 *)(r6 + 48)\ncall 46\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sk_reuseport: cookie of ctx',
    type: SK_REUSEPORT,
    attach: 39,
    text: `call 46\nr0 = 1\nexit`,
    want: at(0, 'R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'sk_reuseport: cookie of a scalar',
    type: SK_REUSEPORT,
    attach: 39,
    text: `r1 = 1\ncall 46\nr0 = 1\nexit`,
    want: at(1, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'sk_reuseport: a socket map entry deleted',
    type: SK_REUSEPORT,
    attach: 39,
    maps: [{ name: 'sm', type: 15, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false }],
    text: `r2 = 0\n*(u32 *)(r10 - 4) = r2\nr1 = map 0\nr2 = r10\nr2 += -4\ncall 3\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'tc: a socket map lookup, checked and released',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `${mapLookup}\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: a socket hash lookup, checked and released',
    type: SCHED_CLS,
    maps: [{ ...SOCKMAP, type: 18 }],
    text: `${mapLookup}\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: a socket map lookup not released',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `${mapLookup}\n${ret0}`,
    want: at(8, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: a socket map entry read before its null check',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `${mapLookup}\nr1 = *(u32 *)(r0 + 4)\n${ret0}`,
    want: at(7, "R0 invalid mem access 'sock_or_null'"),
  },
  {
    name: 'tc: a socket map entry released before its null check',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `${mapLookup}\nr1 = r0\ncall 86\n${ret0}`,
    want: at(8, 'R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: a field of a socket map entry, and a store into it',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `${mapLookup}\nif r0 == 0 goto out\nr6 = r0\nr2 = *(u32 *)(r6 + 4)\n*(u32 *)(r6 + 4) = r2\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: at(10, 'R6 cannot write into sock'),
  },
  {
    name: 'tc: a socket copied from one socket map into another',
    type: SCHED_CLS,
    maps: [SOCKMAP, { ...SOCKMAP, name: 'sm2' }],
    text: `${mapLookup}\nif r0 == 0 goto out\nr6 = r0\nr1 = map 1\nr2 = r10\nr2 += -4\nr3 = r6\nr4 = 0\ncall 2\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: a socket map updated with a stack value',
    type: SCHED_CLS,
    maps: [SOCKMAP],
    text: `r2 = 0\n*(u64 *)(r10 - 8) = r2\nr1 = map 0\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -8\nr4 = 0\ncall 2\n${ret0}`,
    want: at(9, 'R3 type=fp expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'sock_ops: a socket map updated with map_update_elem',
    type: SOCK_OPS,
    attach: 3,
    maps: [SOCKMAP],
    text: `r3 = *(u64 *)(r1 + 184)\nif r3 == 0 goto out\nr2 = 0\n*(u32 *)(r10 - 4) = r2\nr1 = map 0\nr2 = r10\nr2 += -4\nr4 = 0\ncall 2\nout:\nr0 = 1\nexit`,
    want: at(9, 'cannot pass map_type 15 into func bpf_map_update_elem#2'),
  },
  {
    name: 'sock_ops: a socket map updated with an unchecked socket',
    type: SOCK_OPS,
    attach: 3,
    maps: [SOCKMAP],
    text: `r3 = *(u64 *)(r1 + 184)\nr2 = 0\n*(u32 *)(r10 - 4) = r2\nr1 = map 0\nr2 = r10\nr2 += -4\nr4 = 0\ncall 2\nr0 = 1\nexit`,
    want: at(8, 'R3 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'kprobe: a socket map entry deleted',
    type: ProgType.KPROBE,
    maps: [SOCKMAP],
    text: `r2 = 0\n*(u32 *)(r10 - 4) = r2\nr1 = map 0\nr2 = r10\nr2 += -4\ncall 3\n${ret0}`,
    want: at(6, 'cannot pass map_type 15 into func bpf_map_delete_elem#3'),
  },
  {
    // Its value argument is a socket too (resolve_map_arg_type), checked before the map's helpers are.
    name: 'kprobe: a socket map passed to map_push_elem',
    type: ProgType.KPROBE,
    maps: [SOCKMAP],
    text: `r2 = 0\n*(u64 *)(r10 - 8) = r2\nr1 = map 0\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\n${ret0}`,
    want: at(7, 'R2 type=fp expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: a pointer equal to a checked socket is not NULL',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nr7 = r0\nr1 = *(u64 *)(r6 + 168)\nif r1 == 0 goto rel\nif r1 != r7 goto rel\nr2 = *(u32 *)(r7 + 4)\nrel:\nr0 = r7\n${releaseR0}`,
    want: OK,
  },
  {
    name: 'tc: a NULL check through a register holding 0 teaches nothing',
    type: SCHED_CLS,
    text: `${lookup()}\nr2 = 0\nif r0 == r2 goto out\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: at(12, 'R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: a checked socket compared with 0 again',
    type: SCHED_CLS,
    text: `${lookup()}\nr6 = r0\nr3 = 1\nif r6 != 0 goto a\nr3 = 0\na:\nif r6 == 0 goto out\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: tcp_check_syncookie of a looked-up socket',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = r10\nr4 += -16\nr5 = 16\ncall 100\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: tcp_gen_syncookie of sock_or_null',
    type: SCHED_CLS,
    text: `${lookup()}\nr6 = r0\nr1 = r0\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = r10\nr4 += -16\nr5 = 16\ncall 110\nr0 = r6\n${releaseR0}`,
    want: at(17, 'R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'xdp: tcp_gen_syncookie of a scalar',
    type: XDP,
    text: `r1 = 0\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = r10\nr4 += -16\nr5 = 16\ncall 110\n${ret0}`,
    want: at(7, 'R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'tc: sk_assign of skb->sk',
    type: SCHED_CLS,
    text: `r2 = *(u64 *)(r1 + 168)\nif r2 == 0 goto out\nr3 = 0\ncall 124\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: sk_assign of NULL',
    type: SCHED_CLS,
    text: `r2 = 0\nr3 = 0\ncall 124\n${ret0}`,
    want: at(2, 'R2 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  {
    name: 'xdp: sk_assign',
    type: XDP,
    text: `r2 = 0\nr3 = 0\ncall 124\n${ret0}`,
    want: at(2, 'program of this type cannot use helper bpf_sk_assign#124'),
  },
  {
    name: 'sk_lookup: sk_assign of ctx->sk, of NULL',
    type: SK_LOOKUP,
    attach: 36,
    text: `r6 = r1\nr2 = *(u64 *)(r6 + 0)\nr3 = 0\ncall 124\nr1 = r6\nr2 = 0\nr3 = 0\ncall 124\nr0 = 1\nexit`,
    want: OK,
  },
  {
    name: 'sk_lookup: sk_assign of a stack pointer',
    type: SK_LOOKUP,
    attach: 36,
    text: `r2 = r10\nr2 += -8\nr3 = 0\ncall 124\nr0 = 1\nexit`,
    want: at(3, 'R2 type=fp expected=sock'),
  },
  {
    // The rule is the kernel's for every maybe-NULL pointer; bpfkit accepted this map value before.
    name: 'tc: a map value NULL-checked through a register holding 0',
    type: SCHED_CLS,
    maps: [{ name: 'h', type: 1, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false }],
    text: `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nr2 = 0\nif r2 != r0 goto +1\nexit\nr1 = *(u64 *)(r0 + 0)\n${ret0}`,
    want: at(10, "R0 invalid mem access 'map_value_or_null'"),
  },
  {
    name: 'tc: two lookups on two branches, released after they join',
    type: SCHED_CLS,
    text: `r6 = r1\nr7 = *(u32 *)(r6 + 0)\nif r7 == 0 goto udp\n${lookup()}\ngoto join\nudp:\nr1 = r6\n${lookup(85)}\njoin:\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: two lookups on one path, one released',
    type: SCHED_CLS,
    text: `r6 = r1\n${lookup()}\nr7 = r0\nr1 = r6\n${lookup(85)}\nif r0 == 0 goto skip\nr1 = r0\ncall 86\nskip:\nif r7 == 0 goto out\nr1 = r7\nr2 = *(u32 *)(r6 + 0)\nif r2 == 0 goto out\ncall 86\nout:\n${ret0}`,
    want: at(30, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'tc: atomic add into a sock',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr1 = 1\nlock *(u32 *)(r0 + 4) += r1\nout:\n${ret0}`,
    want: at(11, 'BPF_ATOMIC stores into R0 sock is not allowed'),
  },
  {
    name: 'tc: atomic add into a sock_or_null',
    type: SCHED_CLS,
    text: `${lookup()}\nr1 = 1\nlock *(u32 *)(r0 + 4) += r1\n${ret0}`,
    want: at(10, "R0 invalid mem access 'sock_or_null'"),
  },
  {
    name: 'tc: a socket as helper memory',
    type: SCHED_CLS,
    text: `r6 = r1\nr1 = *(u64 *)(r6 + 168)\nif r1 == 0 goto out\nr3 = r1\nr1 = r6\nr2 = 0\nr4 = 4\ncall 26\nout:\n${ret0}`,
    want: at(
      7,
      'R3 type=sock_common expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
    ),
  },
  {
    name: 'tc: a socket as a map key',
    type: SCHED_CLS,
    maps: [{ name: 'h', type: 1, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false }],
    text: `r2 = *(u64 *)(r1 + 168)\nif r2 == 0 goto out\nr1 = map 0\ncall 1\nout:\n${ret0}`,
    want: at(
      4,
      'R2 type=sock_common expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
    ),
  },
  {
    name: 'tc: a socket as the context',
    type: SCHED_CLS,
    text: `r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto out\ncall 34\nout:\n${ret0}`,
    want: at(2, 'R1 type=sock_common expected=ctx'),
  },
  { name: 'tc: skb->sk returned', type: SCHED_CLS, text: `r0 = *(u64 *)(r1 + 168)\nexit`, want: OK },
  {
    name: 'cgroup_skb: a socket returned',
    type: CGROUP_SKB,
    text: `r0 = *(u64 *)(r1 + 168)\nif r0 == 0 goto out\nr1 = r0\ncall 95\nexit\nout:\nr0 = 1\nexit`,
    want: at(4, 'At program exit the register R0 is not a known value (sock_or_null)'),
  },
  {
    name: 'tc: a socket passed to a static subprogram that releases it',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr1 = r0\ncall sub\nout:\n${ret0}\nsub:\ncall 86\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: a socket compared with a scalar',
    type: SCHED_CLS,
    text: `${lookup()}\nif r0 == 0 goto out\nr6 = r0\nif r6 > 100 goto rel\nr2 = *(u32 *)(r6 + 4)\nrel:\nr1 = r6\ncall 86\nout:\n${ret0}`,
    want: OK,
  },
  {
    name: 'tc: a map value given as a scalar',
    type: SCHED_CLS,
    maps: [{ name: 'h', type: 1, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false }],
    text: `r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = map 0\nr3 = 1\nr4 = 0\ncall 2\n${ret0}`,
    want: at(8, 'R3 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  {
    name: 'tc: a popped value into a scalar',
    type: SCHED_CLS,
    maps: [{ name: 'q', type: 22, keySize: 0, valueSize: 8, maxEntries: 4, readOnly: false }],
    text: `r1 = map 0\nr2 = 1\ncall 88\n${ret0}`,
    want: at(3, 'R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  ...storageCases(),
  ...xskCases(),
];

/**
 * An XSKMAP lookup finds PTR_TO_XDP_SOCK, maybe NULL, with no reference: a program reads its queue_id (one
 * __u32, struct bpf_xdp_sock) and nothing else, writes nothing, moves it never; the lookup is insn 6.
 */
function xskCases(): SockCase[] {
  const x = (name: string, body: string, want: Want, type: number = XDP): SockCase => ({
    name: `xskmap: ${name}`,
    type,
    maps: [XSKMAP],
    text: `${mapLookup}\n${body}\nr0 = 2\nexit`,
    want,
  });
  return [
    x('queue_id read after the NULL check', 'if r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 0)', OK),
    x('queue_id read sign-extended', 'if r0 == 0 goto +1\nr0 = *(s32 *)(r0 + 0)', OK),
    x('in tc too', 'if r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 0)', OK, SCHED_CLS),
    x(
      'spilled and filled',
      '*(u64 *)(r10 - 16) = r0\nr0 = *(u64 *)(r10 - 16)\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 0)',
      OK,
    ),
    x('the lookup then a redirect, the AF_XDP pattern', 'r1 = map 0\nr2 = 0\nr3 = 0\ncall 51', OK),
    x('read before the NULL check', 'r0 = *(u32 *)(r0 + 0)', at(7, "R0 invalid mem access 'xdp_sock_or_null'")),
    x(
      'a byte of queue_id',
      'if r0 == 0 goto +1\nr0 = *(u8 *)(r0 + 0)',
      at(8, 'R0 invalid xdp_sock access off=0 size=1'),
    ),
    x('past queue_id', 'if r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 4)', at(8, 'R0 invalid xdp_sock access off=4 size=4')),
    x('written', 'if r0 == 0 goto +2\nr1 = 1\n*(u32 *)(r0 + 0) = r1', at(9, 'R0 cannot write into xdp_sock')),
    x(
      'added to atomically',
      'if r0 == 0 goto +2\nr1 = 0\nlock *(u32 *)(r0 + 0) += r1',
      at(9, 'BPF_ATOMIC stores into R0 xdp_sock is not allowed'),
    ),
    x('moved', 'if r0 == 0 goto +1\nr0 += 4', at(8, 'R0 pointer arithmetic on xdp_sock prohibited')),
    x(
      'given to bpf_sk_release',
      'if r0 == 0 goto +2\nr1 = r0\ncall 86',
      at(9, 'R1 must be referenced when passed to release function'),
    ),
    // reg_not_null counts a checked xdp_sock (Linux 6.18): a second test follows one side, and a maybe-NULL
    // pointer found equal to it is not NULL either.
    x('tested against 0 twice', 'if r0 == 0 goto +3\nif r0 != 0 goto +1\nr0 = r9\nr0 = 0', OK),
    x(
      'equal to a checked one',
      'r6 = r0\nr1 = map 0\nr2 = r10\nr2 += -4\ncall 1\nif r6 == 0 goto +2\nif r6 != r0 goto +1\nr0 = *(u32 *)(r0 + 0)',
      OK,
    ),
    x(
      'equal to the stack pointer',
      'r6 = r10\nif r6 != r0 goto +1\nr0 = *(u32 *)(r0 + 0)',
      at(9, "R0 invalid mem access 'xdp_sock_or_null'"),
    ),
  ];
}

/** bpf_sk_storage_get/delete on a socket storage map (map 0) and a hash map (map 1). */
function storageCases(): SockCase[] {
  const maps: VerifierMap[] = [
    { name: 'st', type: 24, keySize: 4, valueSize: 4, maxEntries: 0, readOnly: false },
    { name: 'h', type: 1, keySize: 4, valueSize: 4, maxEntries: 4, readOnly: false },
  ];
  const get = (sk: string, value = 'r3 = 0') => `${sk}\nif r2 == 0 goto out\nr1 = map 0\n${value}\nr4 = 1\ncall 107`;
  const skbSk = 'r2 = *(u64 *)(r1 + 168)';
  const cases: Omit<SockCase, 'maps'>[] = [
    {
      name: 'tc: storage of skb->sk',
      want: OK,
      type: SCHED_CLS,
      text: `${get(skbSk)}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage of skb->sk not NULL-checked',
      want: at(5, 'R2 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
      type: SCHED_CLS,
      text: `${skbSk}\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\n${ret0}`,
    },
    {
      name: 'tc: storage of NULL',
      want: at(5, 'R2 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
      type: SCHED_CLS,
      text: `r2 = 0\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\n${ret0}`,
    },
    {
      name: 'tc: storage initialized from the stack',
      want: OK,
      type: SCHED_CLS,
      text: `r3 = 0\n*(u32 *)(r10 - 4) = r3\n${get(skbSk, 'r3 = r10\nr3 += -4')}\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage initialized from too little stack',
      want: at(9, 'invalid read from stack R3 off=-2 size=4'),
      type: SCHED_CLS,
      text: `r3 = 0\n*(u32 *)(r10 - 4) = r3\n${get(skbSk, 'r3 = r10\nr3 += -2')}\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage initialized from a scalar',
      want: at(6, 'R3 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
      type: SCHED_CLS,
      text: `${get(skbSk, 'r3 = 1')}\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage value read past its end',
      want: at(8, 'R0 min value is outside of the allowed memory range'),
      type: SCHED_CLS,
      text: `${get(skbSk)}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 4)\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage of a looked-up socket',
      want: OK,
      type: SCHED_CLS,
      text: `r6 = r1\n${lookup()}\nif r0 == 0 goto out\nr7 = r0\nr1 = map 0\nr2 = r7\nr3 = 0\nr4 = 1\ncall 107\nr1 = r7\ncall 86\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage deleted',
      want: OK,
      type: SCHED_CLS,
      text: `${skbSk}\nif r2 == 0 goto out\nr1 = map 0\ncall 108\nout:\n${ret0}`,
    },
    {
      name: 'tc: storage of ctx deleted',
      want: at(3, 'R2 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
      type: SCHED_CLS,
      text: `r2 = r1\nr1 = map 0\ncall 108\n${ret0}`,
    },
    {
      name: 'tc: storage map looked up',
      want: at(6, 'cannot pass map_type 24 into func bpf_map_lookup_elem#1'),
      type: SCHED_CLS,
      text: `r2 = 0\n*(u32 *)(r10 - 4) = r2\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\n${ret0}`,
    },
    {
      name: 'tc: storage get on a hash map',
      want: at(6, 'cannot pass map_type 1 into func bpf_sk_storage_get#107'),
      type: SCHED_CLS,
      text: `${skbSk}\nif r2 == 0 goto out\nr1 = map 1\nr3 = 0\nr4 = 1\ncall 107\nout:\n${ret0}`,
    },
    {
      name: 'cgroup_sock: storage of ctx',
      want: OK,
      type: ProgType.CGROUP_SOCK,
      attach: 2,
      text: `r2 = r1\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\nr0 = 1\nexit`,
    },
    {
      name: 'cgroup_sock: storage of a scalar',
      want: at(5, 'R2 type=scalar expected=ctx'),
      type: ProgType.CGROUP_SOCK,
      attach: 2,
      text: `r2 = 0\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\nr0 = 1\nexit`,
    },
    {
      name: 'cgroup_sock: storage deleted',
      want: at(3, 'program of this type cannot use helper bpf_sk_storage_delete#108'),
      type: ProgType.CGROUP_SOCK,
      attach: 2,
      text: `r2 = r1\nr1 = map 0\ncall 108\nr0 = 1\nexit`,
    },
    {
      name: 'sock_ops: storage of ctx->sk',
      want: OK,
      type: SOCK_OPS,
      attach: 3,
      text: `r2 = *(u64 *)(r1 + 184)\nif r2 == 0 goto out\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\nout:\nr0 = 1\nexit`,
    },
    {
      name: 'getsockopt: storage of ctx->sk',
      want: OK,
      type: CGROUP_SOCKOPT,
      attach: 21,
      text: `r2 = *(u64 *)(r1 + 0)\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\nr0 = 1\nexit`,
    },
    {
      name: 'xdp: storage get',
      want: at(5, 'program of this type cannot use helper bpf_sk_storage_get#107'),
      type: XDP,
      text: `r2 = 0\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 107\n${ret0}`,
    },
  ];
  return cases.map((c) => ({ ...c, maps }));
}
