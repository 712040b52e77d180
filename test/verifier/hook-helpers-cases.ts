/**
 * One hook's helpers (src/verifier/hook-helpers.ts), each program with the verdict the running kernel (6.18)
 * gives: bpf_setsockopt and bpf_getsockopt from sock_ops, every cgroup_sock_addr hook and the cgroup
 * setsockopt hook (whose socket is its context's `sk`), bpf_bind from the connect hooks, the sk_msg data
 * helpers (which leave packet pointers stale) and the sysctl helpers, with their buffers. Programs are in
 * sock-ptr-cases.ts's assembly (labels, `goto label`).
 */
import { ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';
import type { KfuncCase } from './kfunc-cases.js';

/** One program and what the kernel says of it. */
export interface HookCase {
  name: string;
  type: number;
  attach?: number;
  /** Loaded with BPF_F_SLEEPABLE. */
  sleepable?: boolean;
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const cannot = (pc: number, name: string, id: number) =>
  at(pc, `program of this type cannot use helper bpf_${name}#${id}`);

const { SOCK_OPS, SK_MSG, CGROUP_SOCK_ADDR, SCHED_CLS, KPROBE, SOCKET_FILTER } = ProgType;
const SYSCALL = 31;
const CGROUP_SYSCTL = 23;
const CGROUP_SOCKOPT = 25;

/** ctx's socket option (SOL_SOCKET, 2) through an 8-byte stack buffer at fp-8 (zeroed if `init`); the call is insn 9. */
const ctxOpt = (id: number, size = 8, init = true) => `
  r6 = r1
  r2 = 0
  ${init ? '*(u64 *)(r10 - 8) = r2' : 'r0 = 0'}
  r1 = r6
  r2 = 1
  r3 = 2
  r4 = r10
  r4 += -8
  r5 = ${size}
  call ${id}
  r0 = 1
  exit`;

/** The same from a cgroup sockopt program, through its context's socket (struct bpf_sockopt's sk, at 0). */
const skOpt = (id: number, nullCheck = true) => `
  r1 = *(u64 *)(r1 + 0)
  ${nullCheck ? 'if r1 == 0 goto out' : 'r0 = 0'}
  r2 = 0
  *(u64 *)(r10 - 8) = r2
  r2 = 1
  r3 = 2
  r4 = r10
  r4 += -8
  r5 = 8
  call ${id}
  out:
  r0 = 1
  exit`;

/** bpf_bind(ctx, fp-16, size): the call is insn 8. */
const bind = (size: number, init = true) => `
  r6 = r1
  r2 = 0
  ${init ? '*(u64 *)(r10 - 8) = r2' : 'r0 = 0'}
  ${init ? '*(u64 *)(r10 - 16) = r2' : 'r0 = 0'}
  r1 = r6
  r2 = r10
  r2 += -16
  r3 = ${size}
  call 64
  r0 = 1
  exit`;

/** A packet pointer proven 4 bytes long, helper `id` (or none), then a read through the pointer (insn 11). */
const msgData = (id?: number) => `
  r6 = r1
  r7 = *(u64 *)(r6 + 0)
  r8 = *(u64 *)(r6 + 8)
  r2 = r7
  r2 += 4
  if r2 > r8 goto out
  ${id === undefined ? 'r0 = 0\nr0 = 0\nr0 = 0\nr0 = 0\nr0 = 0' : `r1 = r6\nr2 = 0\nr3 = 4\nr4 = 0\ncall ${id}`}
  r0 = *(u8 *)(r7 + 0)
  out:
  r0 = 1
  exit`;

/** A sysctl helper with an 8-byte stack buffer at fp-8 (zeroed if `init`) of `size`; the call is insn 8. */
const sysctl = (id: number, init: boolean, size = 8, flags = 'r4 = 0') => `
  r6 = r1
  r2 = 0
  ${init ? '*(u64 *)(r10 - 8) = r2' : 'r0 = 0'}
  r1 = r6
  r2 = r10
  r2 += -8
  r3 = ${size}
  ${flags}
  call ${id}
  r0 = 1
  exit`;

/** bpf_copy_from_user into fp-8 (`size` bytes) from user address 0; the call is insn 4. */
const copy = (size = 8) => `
  r1 = r10
  r1 += -8
  r2 = ${size}
  r3 = 0
  call 148
  r0 = 0
  exit`;

/** Every cgroup_sock_addr hook of Linux 6.18 (bind, connect, sendmsg, recvmsg, getpeername, getsockname; inet and unix). */
const SOCK_ADDR_HOOKS = [8, 9, 10, 11, 14, 15, 19, 20, 29, 30, 31, 32, 49, 50, 51, 52, 53];

/** The cases, each with the kernel's verdict. */
export const HOOK_CASES: HookCase[] = [
  // Socket options: sock_ops and every cgroup_sock_addr hook take the context (6.18 gives them to the
  // unix getpeername and getsockname hooks too), cgroup_sockopt the setsockopt hook only.
  ...SOCK_ADDR_HOOKS.flatMap((attach) =>
    [49, 57].map((id) => ({
      name: `sock_addr hook ${attach}: ${id === 49 ? 'set' : 'get'}sockopt`,
      type: CGROUP_SOCK_ADDR,
      attach,
      text: ctxOpt(id),
      want: OK,
    })),
  ),
  { name: 'sock_ops: setsockopt', type: SOCK_OPS, attach: 3, text: ctxOpt(49), want: OK },
  { name: 'sock_ops: getsockopt', type: SOCK_OPS, attach: 3, text: ctxOpt(57), want: OK },
  // A privileged loader may hand uninitialized stack to a helper that reads it.
  {
    name: 'sock_ops: setsockopt of uninitialized stack',
    type: SOCK_OPS,
    attach: 3,
    text: ctxOpt(49, 8, false),
    want: OK,
  },
  {
    name: 'sock_ops: getsockopt into uninitialized stack',
    type: SOCK_OPS,
    attach: 3,
    text: ctxOpt(57, 8, false),
    want: OK,
  },
  {
    name: 'sock_ops: getsockopt of size 0',
    type: SOCK_OPS,
    attach: 3,
    text: ctxOpt(57, 0),
    want: at(9, 'R5 invalid zero-sized read: u64=[0,0]'),
  },
  {
    name: 'sock_ops: getsockopt past the buffer',
    type: SOCK_OPS,
    attach: 3,
    text: ctxOpt(57, 16),
    want: at(9, 'invalid write to stack R4 off=-8 size=16'),
  },
  {
    name: 'sock_ops: setsockopt past the buffer',
    type: SOCK_OPS,
    attach: 3,
    text: ctxOpt(49, 16),
    want: at(9, 'invalid read from stack R4 off=-8 size=16'),
  },
  { name: 'tc: setsockopt', type: SCHED_CLS, text: ctxOpt(49), want: cannot(9, 'setsockopt', 49) },
  { name: 'cgroup setsockopt hook: setsockopt', type: CGROUP_SOCKOPT, attach: 22, text: skOpt(49), want: OK },
  { name: 'cgroup setsockopt hook: getsockopt', type: CGROUP_SOCKOPT, attach: 22, text: skOpt(57), want: OK },
  // The context's sk is never NULL there.
  {
    name: 'cgroup setsockopt hook: no NULL check',
    type: CGROUP_SOCKOPT,
    attach: 22,
    text: skOpt(49, false),
    want: OK,
  },
  {
    name: 'cgroup getsockopt hook: setsockopt',
    type: CGROUP_SOCKOPT,
    attach: 21,
    text: skOpt(49),
    want: cannot(9, 'setsockopt', 49),
  },
  {
    name: 'cgroup getsockopt hook: getsockopt',
    type: CGROUP_SOCKOPT,
    attach: 21,
    text: skOpt(57),
    want: cannot(9, 'getsockopt', 57),
  },
  {
    name: 'cgroup setsockopt hook: the context for the socket',
    type: CGROUP_SOCKOPT,
    attach: 22,
    text: ctxOpt(49),
    want: at(9, 'R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_'),
  },
  // bpf_bind: the inet connect hooks only.
  { name: 'connect4: bind', type: CGROUP_SOCK_ADDR, attach: 10, text: bind(16), want: OK },
  { name: 'connect6: bind', type: CGROUP_SOCK_ADDR, attach: 11, text: bind(16), want: OK },
  {
    name: 'connect4: bind of uninitialized stack',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: bind(16, false),
    want: OK,
  },
  ...[8, 14, 49].map((attach) => ({
    name: `sock_addr hook ${attach}: bind`,
    type: CGROUP_SOCK_ADDR,
    attach,
    text: bind(16),
    want: cannot(8, 'bind', 64),
  })),
  {
    name: 'connect4: bind past the buffer',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: bind(24),
    want: at(8, 'invalid read from stack R2 off=-16 size=24'),
  },
  {
    name: 'connect4: bind of size 0',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: bind(0),
    want: at(8, 'R3 invalid zero-sized read: u64=[0,0]'),
  },
  {
    name: 'connect4: bind of the context',
    type: CGROUP_SOCK_ADDR,
    attach: 10,
    text: 'r2 = r1\nr3 = 8\ncall 64\nr0 = 1\nexit',
    want: at(2, 'R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  // sk_msg: pull, push and pop may move the message; its packet pointers are unknown scalars after them.
  { name: 'sk_msg: a read through a checked packet pointer', type: SK_MSG, attach: 7, text: msgData(), want: OK },
  ...(
    [
      [63, 'pull'],
      [90, 'push'],
      [91, 'pop'],
    ] as const
  ).flatMap(([id, what]) => [
    {
      name: `sk_msg: the packet pointer after msg_${what}_data`,
      type: SK_MSG,
      attach: 7,
      text: msgData(id),
      want: at(11, "R7 invalid mem access 'scalar'"),
    },
    {
      name: `sk_msg: msg_${what}_data`,
      type: SK_MSG,
      attach: 7,
      text: `r2 = 0\nr3 = 4\nr4 = 0\ncall ${id}\nr0 = 1\nexit`,
      want: OK,
    },
  ]),
  {
    name: 'tc: msg_pull_data',
    type: SCHED_CLS,
    text: 'r2 = 0\nr3 = 4\nr4 = 0\ncall 63\nr0 = 1\nexit',
    want: cannot(3, 'msg_pull_data', 63),
  },
  {
    name: 'sk_msg: msg_pull_data, r2 unset',
    type: SK_MSG,
    attach: 7,
    text: 'r3 = 4\nr4 = 0\ncall 63\nr0 = 1\nexit',
    want: at(2, 'R2 !read_ok'),
  },
  // sysctl: get_name writes its buffer (MEM_WRITE), the value getters fill theirs, set_new_value reads.
  ...(
    [
      [101, 'write'],
      [102, 'write'],
      [103, 'write'],
      [104, 'read'],
    ] as const
  ).flatMap(([id, how]) => [
    { name: `sysctl ${id}`, type: CGROUP_SYSCTL, attach: 18, text: sysctl(id, true), want: OK },
    { name: `sysctl ${id}: uninitialized stack`, type: CGROUP_SYSCTL, attach: 18, text: sysctl(id, false), want: OK },
    {
      name: `sysctl ${id}: past the buffer`,
      type: CGROUP_SYSCTL,
      attach: 18,
      text: sysctl(id, true, 16),
      want: at(8, `invalid ${how} to stack R2 off=-8 size=16`.replace('read to', 'read from')),
    },
    {
      name: `sysctl ${id}: size 0`,
      type: CGROUP_SYSCTL,
      attach: 18,
      text: sysctl(id, true, 0),
      want: at(8, 'R3 invalid zero-sized read: u64=[0,0]'),
    },
  ]),
  {
    name: 'sysctl get_name, r4 unset',
    type: CGROUP_SYSCTL,
    attach: 18,
    text: sysctl(101, true, 8, ''),
    want: at(7, 'R4 !read_ok'),
  },
  {
    name: 'sock_ops: sysctl_get_name',
    type: SOCK_OPS,
    attach: 3,
    text: sysctl(101, true),
    want: cannot(8, 'sysctl_get_name', 101),
  }, // bpf_copy_from_user: every type has it, only a sleepable program may call it.
  { name: 'uprobe.s: copy_from_user', type: KPROBE, sleepable: true, text: copy(), want: OK },
  { name: 'uprobe.s: copy_from_user of 0 bytes', type: KPROBE, sleepable: true, text: copy(0), want: OK },
  {
    name: 'uprobe.s: copy_from_user past the buffer',
    type: KPROBE,
    sleepable: true,
    text: copy(16),
    want: at(4, 'invalid write to stack R1 off=-8 size=16'),
  },
  {
    name: 'uprobe.s: copy_from_user into NULL',
    type: KPROBE,
    sleepable: true,
    text: 'r1 = 0\nr2 = 0\nr3 = 0\ncall 148\nr0 = 0\nexit',
    want: at(3, 'R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_'),
  },
  { name: 'syscall: copy_from_user', type: SYSCALL, sleepable: true, text: copy(), want: OK },
  ...(
    [
      ['kprobe', KPROBE, undefined],
      ['socket filter', SOCKET_FILTER, undefined],
      ['tc', SCHED_CLS, undefined],
      ['sock_ops', SOCK_OPS, 3],
    ] as const
  ).map(([what, type, attach]) => ({
    name: `${what}: copy_from_user`,
    type,
    attach,
    text: copy(),
    want: at(4, 'helper call might sleep in a non-sleepable prog'),
  })),
];

/** A compiled C program (c-programs.ts's prelude) and the kernel's verdict; pc -1: the kernel's, whatever clang made. */
export interface HookCCase {
  name: string;
  source: string;
  want: Want;
}

/** The helpers by number (the contexts' structs are the fixture header's, from the uapi). */
const C_DECLS = `
static long (*set_opt)(void *ctx, int level, int name, void *val, int len) = (void *)49;
static long (*get_opt)(void *ctx, int level, int name, void *val, int len) = (void *)57;
static long (*msg_pull)(void *msg, __u32 start, __u32 end, __u64 flags) = (void *)63;
static long (*do_bind)(void *ctx, void *addr, int len) = (void *)64;
static long (*sysctl_name)(void *ctx, char *buf, unsigned long len, __u64 flags) = (void *)101;
struct sin { __u16 family; __u16 port; __u32 addr; __u8 zero[8]; };
`;

/**
 * Global functions that take their hook's context (btf_is_prog_ctx_type: a pointer to the type's context
 * struct is the context) and call that hook's helpers with it; an sk_msg global function that pulls data
 * leaves its caller's packet pointers stale.
 */
export const HOOK_C_CASES: HookCCase[] = [
  {
    name: 'hook-connect4-global-bind',
    source: `${C_DECLS}
__noinline int g(struct bpf_sock_addr *ctx) { struct sin sa = {}; sa.family = 2; return do_bind(ctx, &sa, sizeof(sa)) ? 0 : 1; }
SEC("cgroup/connect4") int prog(struct bpf_sock_addr *ctx) { return g(ctx) ? 1 : 0; }`,
    want: OK,
  },
  {
    name: 'hook-sockops-global-setsockopt',
    source: `${C_DECLS}
__noinline int g(struct bpf_sock_ops *s) { int v = 1; return set_opt(s, 1, 2, &v, sizeof(v)); }
SEC("sockops") int prog(struct bpf_sock_ops *s) { g(s); return 1; }`,
    want: OK,
  },
  {
    name: 'hook-setsockopt-global-getsockopt',
    source: `${C_DECLS}
__noinline int g(struct bpf_sockopt *o) { int v = 0; get_opt((void *)(long)o->sk, 1, 2, &v, sizeof(v)); return v & 1; }
SEC("cgroup/setsockopt") int prog(struct bpf_sockopt *o) { g(o); return 1; }`,
    want: OK,
  },
  {
    name: 'hook-sysctl-global-get-name',
    source: `${C_DECLS}
__noinline int g(struct bpf_sysctl *c) { char b[8]; return sysctl_name(c, b, sizeof(b), 0) < 0; }
SEC("cgroup/sysctl") int prog(struct bpf_sysctl *c) { g(c); return 1; }`,
    want: OK,
  },
  {
    name: 'hook-sk-msg-global-pull-stale',
    source: `${C_DECLS}
__noinline int g(struct sk_msg_md *m) { return msg_pull(m, 0, 4, 0); }
SEC("sk_msg") int prog(struct sk_msg_md *m) { void *d = (void *)(long)m->data, *e = (void *)(long)m->data_end; if (d + 4 > e) return 1;
  g(m); return *(volatile __u8 *)d ? 1 : 1; }`,
    want: { pc: -1, re: /^R\d+ invalid mem access 'scalar'$/ },
  },
];

/** BPF_LD | BPF_ABS | BPF_W at offset 0, and BPF_LD | BPF_IND | BPF_W from r7, as raw words. */
const LD_ABS = '".8byte 0x20;"';
const LD_IND = '".8byte 0x7040;"';
const nakedSub = (body: string) =>
  `__attribute__((naked)) __noinline __attribute__((used)) static int sub(void) { asm volatile(${body} ::: "memory"); }\n`;
const nakedMain = (body: string) =>
  `SEC("socket") __attribute__((naked)) int prog(void) { asm volatile(${body} ::: "memory"); }`;
const LOAD_BYTE = 'unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");\n';
const want = (re: RegExp): Want => ({ pc: -1, re });

/**
 * BPF_LD_[ABS|IND] in a subprogram: a failed load returns 0 from the subprogram at once, and the kernel
 * walks that return first. The caller's r6-r9 are its own across the call; r1-r5 are gone after it.
 */
export const LD_ABS_C_CASES: HookCCase[] = [
  {
    name: 'ldabs-sub-early-exit',
    source:
      nakedSub(`"r6 = r1;" ${LD_ABS} "r0 = 1;" "exit;"`) +
      nakedMain(`"call sub;" "if r0 != 0 goto 1f;" "r0 = r9;" "1:" "r0 = 0;" "exit;"`),
    want: want(/^R9 !read_ok$/),
  },
  {
    name: 'ldind-sub-early-exit',
    source:
      nakedSub(`"r6 = r1;" "r7 = 0;" ${LD_IND} "r0 = 1;" "exit;"`) +
      nakedMain(`"call sub;" "if r0 != 0 goto 1f;" "r0 = r9;" "1:" "r0 = 0;" "exit;"`),
    want: want(/^R9 !read_ok$/),
  },
  {
    name: 'ldabs-sub-both-safe',
    source: nakedSub(`"r6 = r1;" ${LD_ABS} "r0 = 1;" "exit;"`) + nakedMain(`"call sub;" "r0 = 0;" "exit;"`),
    want: OK,
  },
  {
    // 0 from the failed load makes the caller's store land at fp-520.
    name: 'ldabs-sub-zero-return-used',
    source:
      nakedSub(`"r6 = r1;" ${LD_ABS} "r0 = 1;" "exit;"`) +
      nakedMain(
        `"call sub;" "r0 *= 8;" "r1 = r10;" "r1 += -520;" "r1 += r0;" "r2 = 0;" "*(u8 *)(r1 + 0) = r2;" "r0 = 0;" "exit;"`,
      ),
    want: want(/^invalid write to stack R1 off=-520 size=1$/),
  },
  {
    // Both paths fail: the kernel reports the early return's (the caller's r8), walked first.
    name: 'ldabs-sub-both-fail',
    source:
      nakedSub(`"r6 = r1;" ${LD_ABS} "r0 = r9;" "exit;"`) +
      nakedMain(`"call sub;" "if r0 != 0 goto 1f;" "r0 = r8;" "1:" "r0 = 0;" "exit;"`),
    want: want(/^R8 !read_ok$/),
  },
  {
    name: 'ldabs-sub-callee-saved-kept',
    source: nakedSub(`"r6 = r1;" ${LD_ABS} "r0 = 1;" "exit;"`) + nakedMain(`"r6 = 7;" "call sub;" "r0 = r6;" "exit;"`),
    want: OK,
  },
  {
    name: 'ldabs-global',
    source: `${LOAD_BYTE}__noinline int g(struct __sk_buff *skb) { return load_byte(skb, 0) & 1; }
SEC("socket") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: OK,
  },
];

/** A program reading through a map pointer (r1 = map 0) and the kernel's verdict; the kernel's BTF is needed. */
export interface MapPtrCase {
  name: string;
  map: VerifierMap;
  text: string;
  want: Want;
}

const vmap = (type: number, keySize = 4, valueSize = 8): VerifierMap => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries: 4,
  readOnly: false,
});
const ARRAY = vmap(2);
const mapRead = (name: string, body: string, want: Want, map = ARRAY): MapPtrCase => ({
  name,
  map,
  text: `r1 = map 0\n${body}\nr0 = 0\nexit`,
  want,
});

/**
 * Loads through a map pointer (map-ptr.ts): the map's kernel struct walked by the kernel's BTF (Linux
 * 6.18's struct bpf_map begins with the u8 sha[32] of an exclusive map, then excl, then ops at 40).
 */
export const MAP_PTR_CASES: MapPtrCase[] = [
  mapRead('array: ops', 'r0 = *(u64 *)(r1 + 40)', OK),
  mapRead('array: max_entries', 'r0 = *(u32 *)(r1 + 76)', OK),
  mapRead('array: a byte of sha', 'r0 = *(u8 *)(r1 + 3)', OK),
  mapRead('array: 8 bytes of sha, unaligned', 'r0 = *(u64 *)(r1 + 3)', OK),
  mapRead(
    'array: the padding after excl',
    'r0 = *(u32 *)(r1 + 36)',
    at(2, "struct bpf_map doesn't have field at offset 36"),
  ),
  mapRead(
    'array: half of ops',
    'r0 = *(u32 *)(r1 + 44)',
    at(2, 'cannot access ptr member ops with moff 40 in struct bpf_map with off 44 size 4'),
  ),
  mapRead(
    'array: past the struct',
    'r0 = *(u64 *)(r1 + 30000)',
    at(2, 'access beyond struct bpf_array at off 30000 size 8'),
  ),
  mapRead('array: negative offset', 'r0 = *(u64 *)(r1 - 8)', at(2, 'R1 is bpf_array invalid negative access: off=-8')),
  mapRead('array: a store', 'r2 = 0\n*(u64 *)(r1 + 0) = r2', at(3, 'only read from bpf_array is supported')),
  mapRead('array: an immediate store', '*(u64 *)(r1 + 0) = 0', at(2, 'only read from bpf_array is supported')),
  mapRead(
    'array: an atomic add',
    'r2 = 1\nlock *(u64 *)(r1 + 0) += r2',
    at(3, 'only read from bpf_array is supported'),
  ),
  mapRead(
    'array: a scalar member is a scalar',
    'r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r2 + 0)',
    at(3, "R2 invalid mem access 'scalar'"),
  ),
  // inner_map_meta (a struct bpf_map pointer) comes back untrusted, and may be read through.
  mapRead('array: through inner_map_meta', 'r2 = *(u64 *)(r1 + 48)\nr0 = *(u32 *)(r2 + 76)', OK),
  mapRead('array: arithmetic', 'r1 += 8\nr0 = *(u64 *)(r1 + 0)', at(2, 'R1 pointer arithmetic on map_ptr prohibited')),
  ...(
    [
      ['hash', 1, 'bpf_htab'],
      ['percpu hash', 5, 'bpf_htab'],
      ['lru hash', 9, 'bpf_htab'],
      ['lru percpu hash', 10, 'bpf_htab'],
      ['percpu array', 6, 'bpf_array'],
      ['queue', 22, 'bpf_queue_stack'],
      ['stack', 23, 'bpf_queue_stack'],
      ['bloom filter', 30, 'bpf_bloom_filter'],
    ] as const
  ).map(([what, type, struct]) =>
    mapRead(
      `${what}: negative offset`,
      'r0 = *(u64 *)(r1 - 8)',
      at(2, `R1 is ${struct} invalid negative access: off=-8`),
      vmap(type, type >= 22 ? 0 : 4),
    ),
  ),
  ...(
    [
      ['prog array', 3],
      ['perf event array', 4],
      ['cgroup array', 8],
    ] as const
  ).map(([what, type]) =>
    mapRead(
      `${what}: negative offset`,
      'r0 = *(u64 *)(r1 - 8)',
      at(2, 'R1 is bpf_array invalid negative access: off=-8'),
      vmap(type, 4, 4),
    ),
  ),
  mapRead(
    'ring buffer: negative offset',
    'r0 = *(u64 *)(r1 - 8)',
    at(2, 'R1 is bpf_ringbuf_map invalid negative access: off=-8'),
    {
      ...vmap(27, 0, 0),
      maxEntries: 4096,
    },
  ),
  // A device map's struct (bpf_dtab) is not in bpfkit's table.
  mapRead('devmap: not modelled', 'r0 = *(u64 *)(r1 - 8)', { unmodelled: true }, vmap(14, 4, 4)),
];

const TRACING = 26;
const MEM_EXPECTED = 'expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';
/** From the tp's first argument in r6, `load` puts a pointer in r2, then bpf_trace_printk takes it: its type shows (insn 4, or 5 after two loads). */
const reveal = (load: string) => `r6 = *(u64 *)(r1 + 0)\n${load}\nr1 = r2\nr2 = 8\ncall 6\nr0 = 0\nexit`;
/** The same, then a byte read through it. */
const deref = (load: string) => `r6 = *(u64 *)(r1 + 0)\n${load}\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit`;
const field = (s: string, m: string) => `r2 = *(u64 *)(r6 + off(${s}.${m}))`;
const typed = (pc: number, type: string): Want => at(pc, `R1 type=${type} ${MEM_EXPECTED}`);

/**
 * The allow lists' fields (trusted-fields.ts), loaded from tp_btf's trusted arguments: the listed RCU fields
 * are rcu_ptr_ (sk_buff's and request_sock's sk may be NULL), an unlisted one of the same structs untrusted.
 */
export const TRUSTED_FIELD_CASES: KfuncCase[] = [
  ...(['cgroups', 'cpus_ptr', 'real_parent', 'group_leader'] as const).map((m) => ({
    name: `task->${m} is RCU`,
    type: TRACING,
    tp: 'task_newtask',
    text: reveal(field('task_struct', m)),
    want: typed(4, 'rcu_ptr_'),
  })),
  ...(['cpus_ptr', 'real_parent', 'group_leader'] as const).map((m) => ({
    name: `task->${m} is never NULL`,
    type: TRACING,
    tp: 'task_newtask',
    text: deref(field('task_struct', m)),
    want: OK,
  })),
  {
    name: 'task->parent is not listed',
    type: TRACING,
    tp: 'task_newtask',
    text: reveal(field('task_struct', 'parent')),
    want: typed(4, 'untrusted_ptr_'),
  },
  {
    name: 'task->cgroups->dfl_cgrp is RCU',
    type: TRACING,
    tp: 'task_newtask',
    text: reveal(`r6 = *(u64 *)(r6 + off(task_struct.cgroups))\n${field('css_set', 'dfl_cgrp')}`),
    want: typed(5, 'rcu_ptr_'),
  },
  {
    name: 'task->group_leader->group_leader is RCU',
    type: TRACING,
    tp: 'task_newtask',
    text: reveal(`r6 = *(u64 *)(r6 + off(task_struct.group_leader))\n${field('task_struct', 'group_leader')}`),
    want: typed(5, 'rcu_ptr_'),
  },
  {
    name: 'a byte of task->cgroups',
    type: TRACING,
    tp: 'task_newtask',
    text: deref(field('task_struct', 'cgroups')),
    want: at(2, 'cannot access ptr member subsys with moff 0 in struct css_set with off 0 size 1'),
  },
  {
    name: 'cgroup->kn is RCU',
    type: TRACING,
    tp: 'cgroup_mkdir',
    text: reveal(field('cgroup', 'kn')),
    want: typed(4, 'rcu_ptr_'),
  },
  { name: 'cgroup->kn is never NULL', type: TRACING, tp: 'cgroup_mkdir', text: deref(field('cgroup', 'kn')), want: OK },
  {
    name: 'cgroup->old_dom_cgrp is not listed',
    type: TRACING,
    tp: 'cgroup_mkdir',
    text: reveal(field('cgroup', 'old_dom_cgrp')),
    want: typed(4, 'untrusted_ptr_'),
  },
  {
    name: 'skb->sk is RCU, maybe NULL',
    type: TRACING,
    tp: 'netif_receive_skb',
    text: reveal(field('sk_buff', 'sk')),
    want: typed(4, 'rcu_ptr_or_null_'),
  },
  {
    name: 'skb->sk read unchecked',
    type: TRACING,
    tp: 'netif_receive_skb',
    text: deref(field('sk_buff', 'sk')),
    want: at(2, "R2 invalid mem access 'rcu_ptr_or_null_'"),
  },
  {
    name: 'skb->sk read after a NULL check',
    type: TRACING,
    tp: 'netif_receive_skb',
    text: `r6 = *(u64 *)(r1 + 0)\n${field('sk_buff', 'sk')}\nif r2 == 0 goto out\nr0 = *(u8 *)(r2 + 0)\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'req->sk is RCU, maybe NULL',
    type: TRACING,
    tp: 'tcp_retransmit_synack',
    text: `r6 = *(u64 *)(r1 + 8)\n${field('request_sock', 'sk')}\nr1 = r2\nr2 = 8\ncall 6\nr0 = 0\nexit`,
    want: typed(4, 'rcu_ptr_or_null_'),
  },
];

const NONNULL = '__attribute__((btf_decl_tag("arg:nonnull")))';
const CALLER_REFUSED = want(/^Caller passes invalid args into func#1 \('g'\)$/);

/**
 * `arg:nonnull` on a global function's memory argument: the function reads it unchecked; a caller may not
 * pass NULL or a pointer not yet checked (the line before the last: "arg#0 is expected to be non-NULL").
 */
export const NONNULL_C_CASES: HookCCase[] = [
  {
    name: 'nonnull-stack',
    source: `__noinline int g(int *p ${NONNULL}) { return *p; }
SEC("tc") int prog(struct __sk_buff *skb) { int v = skb->len; return g(&v) & 1; }`,
    want: OK,
  },
  {
    name: 'nonnull-written',
    source: `__noinline int g(int *p ${NONNULL}) { *p = 1; return 0; }
SEC("tc") int prog(struct __sk_buff *skb) { int v = 0; g(&v); return v & 1; }`,
    want: OK,
  },
  {
    name: 'nonnull-map-value-checked',
    source: `__noinline int g(__u64 *p ${NONNULL}) { return *p & 1; }
SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = skb->len & 3; __u64 *v = bpf_map_lookup_elem(&arr, &k); if (!v) return 0; return g(v); }`,
    want: OK,
  },
  {
    name: 'nonnull-map-value-unchecked',
    source: `__noinline int g(__u64 *p ${NONNULL}) { return *p & 1; }
SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = skb->len & 3; __u64 *v = bpf_map_lookup_elem(&arr, &k); return g(v); }`,
    want: CALLER_REFUSED,
  },
  {
    name: 'nonnull-null',
    source: `__noinline int g(int *p ${NONNULL}) { return *p; }
SEC("tc") int prog(struct __sk_buff *skb) { return g((void *)0) & 1; }`,
    want: CALLER_REFUSED,
  },
  {
    name: 'nonnull-too-small',
    source: `__noinline int g(__u64 *p ${NONNULL}) { return *p & 1; }
SEC("tc") int prog(struct __sk_buff *skb) { int v = skb->len; return g((void *)&v); }`,
    want: CALLER_REFUSED,
  },
];

/** An iterator program (`bpf_iter_<target>`) and the kernel's verdict. */
export interface IterOptCase {
  target: string;
  name: string;
  text: string;
  want: Want;
}

/**
 * The iterator's socket (its context's second slot) checked for NULL unless `check` is false, then socket
 * option helper `id` with an 8-byte stack buffer of `size`; the call is insn 11.
 */
const iterOpt = (id: number, check = true, size = 8) => `
  r2 = *(u64 *)(r1 + 8)
  ${check ? 'if r2 == 0 goto out' : 'r0 = 0'}
  r1 = r2
  r0 = 0
  r2 = 1
  r3 = 7
  r0 = 4096
  *(u64 *)(r10 - 8) = r0
  r4 = r10
  r4 += -8
  r5 = ${size}
  call ${id}
  out:
  r0 = 0
  exit`;
const SOCK_EXPECTED = 'expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_';

/** The tcp and unix iterators' setsockopt and getsockopt (bpf_sk_*sockopt: the socket by BTF id). */
export const ITER_OPT_CASES: IterOptCase[] = [
  { target: 'tcp', name: 'tcp iterator: getsockopt', text: iterOpt(57), want: OK },
  { target: 'tcp', name: 'tcp iterator: setsockopt', text: iterOpt(49), want: OK },
  {
    target: 'tcp',
    name: 'tcp iterator: setsockopt of a socket maybe NULL',
    text: iterOpt(49, false),
    want: at(11, `R1 type=trusted_ptr_or_null_ ${SOCK_EXPECTED}`),
  },
  {
    target: 'tcp',
    name: 'tcp iterator: setsockopt past the buffer',
    text: iterOpt(49, true, 16),
    want: at(11, 'invalid read from stack R4 off=-8 size=16'),
  },
  { target: 'unix', name: 'unix iterator: setsockopt', text: iterOpt(49), want: OK },
  { target: 'unix', name: 'unix iterator: getsockopt', text: iterOpt(57), want: OK },
  {
    target: 'unix',
    name: 'unix iterator: setsockopt of a socket maybe NULL',
    text: iterOpt(49, false),
    want: at(11, `R1 type=ptr_or_null_ ${SOCK_EXPECTED}`),
  },
  // Other iterators have no socket option helpers: Linux 6.18's tracing table refuses them (tp-helpers-cases.ts).
  { target: 'udp', name: 'udp iterator: setsockopt', text: iterOpt(49), want: cannot(11, 'setsockopt', 49) },
];
