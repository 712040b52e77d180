/**
 * Kernel-managed fields of map values beyond spin locks (map-fields.ts, spin-lock.ts): timers as small C
 * programs (the fields are found through the map's BTF), kptrs as instructions on a map whose fields are
 * given (kernel-oracle.ts creates it with BTF that puts them there: clang 14 drops the kptr type tags). Each expectation is the running
 * kernel's verdict, instruction and last log line (mapfields.test.ts asks it as root).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';

/** One case: a C program whose `prog` is judged, and what bpfkit and the kernel must say. */
export interface MapFieldCase {
  name: string;
  source: string;
  want: Want;
}

/** A value with a timer between two plain words, in an array map, looked up as `v` (NULL: return 0). */
const TIMER_MAP = `struct tval { __u64 a; struct bpf_timer t; __u64 b; };
  struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct tval); } tm SEC(".maps");`;

const LOOKUP_T = `__u32 k = 0; struct tval *v = bpf_map_lookup_elem(&tm, &k); if (!v) return 0;`;

/** A value with a bpf_wq (its uapi layout), in an array map, looked up as `v`. */
const WQ_MAP = `struct bpf_wq { __u64 __opaque[2]; } __attribute__((aligned(8)));
  struct wval { __u64 a; struct bpf_wq w; };
  struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct wval); } wm SEC(".maps");`;
const LOOKUP_W = `__u32 k = 0; struct wval *v = bpf_map_lookup_elem(&wm, &k); if (!v) return 0;`;

/** The timer helpers by number (the fixture header does not declare them), and a second timer map. */
const TIMERS = `static long (*timer_init)(struct bpf_timer *t, void *map, __u64 flags) = (void *)169;
  static long (*timer_set_callback)(struct bpf_timer *t, void *cb) = (void *)170;
  static long (*timer_start)(struct bpf_timer *t, __u64 ns, __u64 flags) = (void *)171;
  static long (*timer_cancel)(struct bpf_timer *t) = (void *)172;
  struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct tval); } tm2 SEC(".maps");`;

/** The cases, each a `prog` (the harness adds the fixture header and a GPL license). */
export const MAP_FIELD_CASES: MapFieldCase[] = [
  // check_map_prog_compatibility: the tracing types may not use a map whose value holds a timer.
  {
    name: 'timer-map-in-kprobe',
    source: `${TIMER_MAP}
      SEC("kprobe/x") int prog(void *ctx) { ${LOOKUP_T} return v->a & 1; }`,
    want: { pc: -1, re: /^tracing progs cannot use bpf_timer yet$/ },
  },
  {
    name: 'timer-map-in-tc',
    source: `${TIMER_MAP}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} return (v->a + v->b) & 1; }`,
    want: { ok: true },
  },
  // check_map_access: the timer's 16 bytes are never loaded or stored, by an instruction or a helper.
  {
    name: 'timer-field-loaded',
    source: `${TIMER_MAP}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} return *(volatile __u32 *)((char *)v + 12) & 1; }`,
    want: { pc: -1, re: /^bpf_timer cannot be accessed directly by load\/store$/ },
  },
  {
    name: 'timer-field-stored-across',
    source: `${TIMER_MAP}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} *(volatile __u64 *)((char *)v + 20) = 1; return 0; }`,
    want: { pc: -1, re: /^bpf_timer cannot be accessed directly by load\/store$/ },
  },
  {
    name: 'timer-field-helper-write',
    source: `${TIMER_MAP}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} bpf_skb_load_bytes(skb, 0, v, 16); return 0; }`,
    want: { pc: -1, re: /^bpf_timer cannot be accessed directly by load\/store$/ },
  },
  // bpf_wq (not in clang 14's uapi header: its layout written here) follows the timer's two rules.
  {
    name: 'wq-map-in-kprobe',
    source: `${WQ_MAP}
      SEC("kprobe/x") int prog(void *ctx) { ${LOOKUP_W} return v->a & 1; }`,
    want: { pc: -1, re: /^tracing progs cannot use bpf_wq yet$/ },
  },
  {
    name: 'wq-field-loaded',
    source: `${WQ_MAP}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_W} return *(volatile __u32 *)((char *)v + 12) & 1; }`,
    want: { pc: -1, re: /^bpf_wq cannot be accessed directly by load\/store$/ },
  },
  // A struct named bpf_wq of another size is no bpf_wq for the kernel (btf_find_struct): plain memory.
  {
    name: 'wq-of-another-size',
    source: `struct bpf_wq { __u64 a; };
      struct oval { __u64 a; struct bpf_wq w; };
      struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct oval); } om SEC(".maps");
      SEC("kprobe/x") int prog(void *ctx) { __u32 k = 0; struct oval *v = bpf_map_lookup_elem(&om, &k); if (!v) return 0;
        return *(volatile __u32 *)((char *)v + 12) & 1; }`,
    want: { ok: true },
  },
  // The helpers: the timer at its constant offset in the value, initialised with its own map; the
  // callback walked on its own with (map, key, value), returning 0.
  {
    name: 'timer-init-start-cancel',
    source: `${TIMER_MAP} ${TIMERS}
      static int cb(void *map, __u32 *key, struct tval *val) { val->a++; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T}
        timer_init(&v->t, &tm, 1); timer_set_callback(&v->t, cb); timer_start(&v->t, 1000, 0); timer_cancel(&v->t);
        return 0; }`,
    want: { ok: true },
  },
  {
    name: 'timer-callback-returns-one',
    source: `${TIMER_MAP} ${TIMERS}
      static __noinline int cb(void *map, __u32 *key, struct tval *val) { return 1; }
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} timer_set_callback(&v->t, cb); return 0; }`,
    want: { pc: -1, re: /^At async callback return the register R0 has smin=1 smax=1 should have been in \[0, 0\]$/ },
  },
  {
    name: 'timer-callback-reads-past-value',
    source: `${TIMER_MAP} ${TIMERS}
      static int cb(void *map, __u32 *key, struct tval *val) { return *(volatile __u64 *)((char *)val + 32) & 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} timer_set_callback(&v->t, cb); return 0; }`,
    want: { pc: -1, re: /^R\d min value is outside of the allowed memory range$/ },
  },
  {
    name: 'timer-init-other-map',
    source: `${TIMER_MAP} ${TIMERS}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} timer_init(&v->t, &tm2, 1); return 0; }`,
    want: { pc: -1, re: /^timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0$/ },
  },
  {
    name: 'timer-wrong-offset',
    source: `${TIMER_MAP} ${TIMERS}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} timer_start((void *)&v->b, 0, 0); return 0; }`,
    want: { pc: -1, re: /^off 24 doesn't point to 'struct bpf_timer' that is at 8$/ },
  },
  {
    name: 'timer-variable-offset',
    source: `${TIMER_MAP} ${TIMERS}
      SEC("tc") int prog(struct __sk_buff *skb) { ${LOOKUP_T} timer_cancel((void *)((char *)v + (skb->len & 8))); return 0; }`,
    want: { pc: -1, re: /^R1 doesn't have constant offset\. bpf_timer has to be at the constant offset$/ },
  },
  // A callback's stack does not add to its caller's: 2 x 320 bytes pass, as two chains of their own.
  {
    name: 'timer-callback-stack-apart',
    source: `${TIMER_MAP} ${TIMERS}
      static int cb(void *map, __u32 *key, struct tval *val) { volatile char buf[320]; buf[0] = 1; buf[319] = 2; return buf[7] & 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { volatile char buf[320]; buf[0] = 1; buf[319] = 2; ${LOOKUP_T}
        timer_set_callback(&v->t, cb); return buf[3] & 1; }`,
    want: { ok: true },
  },
];

/** A raw case: instructions on map 0 (a one-slot array of `kval`, below), as tc. */
export interface RawFieldCase {
  name: string;
  type: number;
  text: string;
  maps: VerifierMap[];
  want: Want;
}

/** struct kval { u64 a; struct task_struct __kptr_untrusted *u; struct task_struct __kptr *r; u64 b; } */
const KVAL: VerifierMap = {
  name: 'km',
  type: MapType.ARRAY,
  keySize: 4,
  valueSize: 32,
  maxEntries: 1,
  readOnly: false,
  kernelFields: [
    { off: 8, size: 8, what: '__kptr_untrusted', target: 'task_struct' },
    { off: 16, size: 8, what: '__kptr', target: 'task_struct' },
  ],
};

/** Look up key 0 of map 0 into r0, exit with it when NULL; the body follows (pc 9 on), then `r0 = 0; exit`. */
const LOOKUP = `
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  r2 = r10
  r2 += -4
  r1 = map 0
  call 1
  if r0 != 0 goto +1
  exit`;

const raw = (name: string, body: string, want: Want): RawFieldCase => ({
  name,
  type: ProgType.SCHED_CLS,
  text: `${LOOKUP}
    ${body}
    r0 = 0
    exit`,
  maps: [KVAL],
  want,
});

/** kptr fields: whole, aligned BPF_DW accesses at a constant offset only; stores to a referenced one never. */
export const KPTR_CASES: RawFieldCase[] = [
  raw('kptr-narrow-load', 'r1 = *(u32 *)(r0 + 8)', { pc: 9, re: /^kptr access size must be BPF_DW$/ }),
  raw('kptr-misaligned-load', 'r1 = *(u32 *)(r0 + 12)', { pc: 9, re: /^kptr access misaligned expected=8 off=12$/ }),
  raw('kptr-misaligned-wide', 'r1 = *(u64 *)(r0 + 4)', { pc: 9, re: /^kptr access misaligned expected=8 off=4$/ }),
  raw(
    'kptr-variable-offset',
    `r1 = *(u32 *)(r0 + 0)
    r1 &= 8
    r0 += r1
    r1 = *(u64 *)(r0 + 8)`,
    { pc: 12, re: /^kptr access cannot have variable offset$/ },
  ),
  raw(
    'kptr-helper-read',
    `r3 = r0
    r1 = map 0
    r2 = r10
    r2 += -4
    r4 = 0
    call 2`,
    { pc: 15, re: /^kptr cannot be accessed indirectly by helper$/ },
  ),
  raw(
    'kptr-atomic',
    `r1 = 1
    lock *(u64 *)(r0 + 8) += r1`,
    { pc: 10, re: /^kptr in map can only be accessed using BPF_MEM instruction mode$/ },
  ),
  raw(
    'kptr-ref-store-zero',
    `r1 = 0
    *(u64 *)(r0 + 16) = r1`,
    { pc: 10, re: /^store to referenced kptr disallowed$/ },
  ),
  raw('kptr-ref-st-zero', '*(u64 *)(r0 + 16) = 0', { pc: 9, re: /^store to referenced kptr disallowed$/ }),
  raw(
    'kptr-untrusted-store-zero',
    `r1 = 0
    *(u64 *)(r0 + 8) = r1`,
    { ok: true },
  ),
  raw('kptr-untrusted-st-zero', '*(u64 *)(r0 + 8) = 0', { ok: true }),
  raw('kptr-untrusted-st-one', '*(u64 *)(r0 + 8) = 1', {
    pc: 9,
    re: /^BPF_ST imm must be 0 when storing to kptr at off=8$/,
  }),
  // map_kptr_match_type: a scalar that is not a known zero is no task_struct pointer.
  raw(
    'kptr-untrusted-store-scalar',
    `r1 = *(u64 *)(r0 + 0)
    *(u64 *)(r0 + 8) = r1`,
    {
      pc: 10,
      re: /^invalid kptr access, R1 type=scalar expected=ptr_task_struct or untrusted_ptr_task_struct$/,
    },
  ),
  // Loads give a maybe-NULL task_struct pointer (the kernel's BTF is needed: the test gives the running
  // kernel's): untrusted from `__kptr_untrusted`, MEM_RCU from `__kptr` (task_struct is RCU-protected).
  raw('kptr-untrusted-load', 'r1 = *(u64 *)(r0 + 8)', { ok: true }),
  raw(
    'kptr-untrusted-load-unchecked',
    `r1 = *(u64 *)(r0 + 8)
    r2 = *(u32 *)(r1 + 0)`,
    { pc: 10, re: /^R1 invalid mem access 'untrusted_ptr_or_null_'$/ },
  ),
  raw(
    'kptr-ref-load-unchecked',
    `r1 = *(u64 *)(r0 + 16)
    r2 = *(u32 *)(r1 + 0)`,
    { pc: 10, re: /^R1 invalid mem access 'rcu_ptr_or_null_'$/ },
  ),
  raw(
    'kptr-ref-load-checked',
    `r1 = *(u64 *)(r0 + 16)
    if r1 == 0 goto +1
    r2 = *(u32 *)(r1 + 0)`,
    { ok: true },
  ),
  raw(
    'kptr-untrusted-load-then-store-back',
    `r1 = *(u64 *)(r0 + 8)
    if r1 == 0 goto +1
    r2 = *(u32 *)(r1 + 0)
    *(u64 *)(r0 + 8) = r1`,
    { ok: true },
  ),
  // One past the start is another matter (btf_struct_ids_match with an offset): not modelled.
  raw(
    'kptr-untrusted-store-back-offset',
    `r1 = *(u64 *)(r0 + 8)
    if r1 == 0 goto +2
    r1 += 8
    *(u64 *)(r0 + 8) = r1`,
    { unmodelled: true },
  ),
  // The plain words beside the kptrs are memory like any other.
  raw(
    'kptr-neighbour-words',
    `r1 = *(u64 *)(r0 + 0)
    *(u64 *)(r0 + 24) = r1`,
    { ok: true },
  ),
];

/**
 * bpf_kptr_xchg cases (tc, map 0 the kval array): the current task acquired into r6 (bpf_task_acquire, a
 * kfunc named for kfunc-cases.ts's kfuncProgram), the value looked up into r0, then `body`; `out:` is the
 * exit (the body gives r6's reference away or back itself).
 */
export interface XchgCase {
  name: string;
  text: string;
  want: Want;
}

/** An XchgCase (see above). */
const xchg = (name: string, body: string, want: Want): XchgCase => ({
  name,
  text: `call 158
    r1 = r0
    call kfunc bpf_task_acquire
    if r0 == 0 goto out
    r6 = r0
    r1 = 0
    *(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4
    r1 = map 0
    call 1
    if r0 != 0 goto found
    r1 = r6
    call kfunc bpf_task_release
    goto out
    found:
    ${body}
    out:
    r0 = 0
    exit`,
  want,
});

/** Exchange r6 into the referenced kptr at value + `off`, and release what comes back when not NULL. */
const swapIn = (off: number) => `r1 = r0
    r1 += ${off}
    r2 = r6
    call 194
    if r0 == 0 goto out
    r1 = r0
    call kfunc bpf_task_release`;

/** The map every XchgCase names. */
export const XCHG_MAP = KVAL;

/** The bpf_kptr_xchg cases, each checked against the running kernel as root. */
export const XCHG_CASES: XchgCase[] = [
  xchg('xchg-in-and-release-old', swapIn(16), { ok: true }),
  // The reference given to the map is gone from r6: a load through it reads a scalar.
  xchg('xchg-then-use-given', `${swapIn(16)}\nr0 = *(u32 *)(r6 + 0)`, {
    pc: 23,
    re: /^R6 invalid mem access 'scalar'$/,
  }),
  xchg('xchg-untrusted-field', swapIn(8), { pc: 19, re: /^off=8 kptr isn't referenced kptr$/ }),
  xchg('xchg-no-kptr-there', swapIn(0), { pc: 19, re: /^off=0 doesn't point to kptr$/ }),
  xchg(
    'xchg-variable-offset',
    `r1 = *(u32 *)(r0 + 0)
    r1 &= 8
    r0 += r1
    ${swapIn(16)}`,
    { pc: 22, re: /^R1 doesn't have constant offset\. kptr has to be at the constant offset$/ },
  ),
  // NULL goes in; the old pointer comes out and r6 is still ours to release.
  xchg(
    'xchg-null-in',
    `r1 = r0
    r1 += 16
    r2 = 0
    call 194
    if r0 == 0 goto rel
    r1 = r0
    call kfunc bpf_task_release
    rel:
    r1 = r6
    call kfunc bpf_task_release`,
    { ok: true },
  ),
  // The RCU pointer loaded from the kptr itself carries no reference.
  xchg(
    'xchg-loaded-unreferenced',
    `r7 = r0
    r1 = r6
    call kfunc bpf_task_release
    r2 = *(u64 *)(r7 + 16)
    if r2 == 0 goto out
    r1 = r7
    r1 += 16
    call 194`,
    { pc: 23, re: /^R2 must be referenced when passed to release function$/ },
  ),
  // The current task is trusted but carries no reference of the program's.
  xchg(
    'xchg-trusted-unreferenced',
    `r7 = r0
    r1 = r6
    call kfunc bpf_task_release
    call 158
    r2 = r0
    r1 = r7
    r1 += 16
    call 194`,
    { pc: 23, re: /^R2 must be referenced when passed to release function$/ },
  ),
  // A reference not yet checked for NULL may not be given (release arguments are never maybe-NULL).
  xchg(
    'xchg-maybe-null-in',
    `r7 = r0
    call 158
    r1 = r0
    call kfunc bpf_task_acquire
    r2 = r0
    r1 = r7
    r1 += 16
    call 194`,
    { pc: 23, re: /^Possibly NULL pointer passed to helper arg2$/ },
  ),
  // What comes out is a reference the program must give back.
  xchg(
    'xchg-old-leaked',
    `r1 = r0
    r1 += 16
    r2 = r6
    call 194`,
    { pc: 21, re: /^BPF_EXIT instruction in main prog would lead to reference leak$/ },
  ),
];
