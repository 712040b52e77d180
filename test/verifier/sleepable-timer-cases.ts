/**
 * Timers in sleepable (syscall) programs (src/verifier/timer.ts, sleepable-calls.ts), as compiled C
 * (c-programs.ts's prelude) with the verdict the running kernel (6.18) gives: a sleepable program sets a
 * timer up as any other, and the callback it names is not sleepable (a helper that may sleep is refused
 * there). pc -1: the kernel's instruction, whatever clang made of the source.
 */
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface SleepTimerCase {
  name: string;
  source: string;
  want: Want;
}

/** A value with a timer, in an array map, and the timer and copy helpers by number. */
const DECLS = `struct tval { __u64 a; struct bpf_timer t; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct tval); } tm SEC(".maps");
static long (*timer_init)(struct bpf_timer *t, void *map, __u64 flags) = (void *)169;
static long (*timer_set_callback)(struct bpf_timer *t, void *cb) = (void *)170;
static long (*timer_start)(struct bpf_timer *t, __u64 ns, __u64 flags) = (void *)171;
static long (*timer_cancel)(struct bpf_timer *t) = (void *)172;
static long (*copy_user)(void *dst, __u32 size, const void *src) = (void *)148;
`;

/** A syscall program that sets `cb` on the map's timer and starts it (then cancels it if `cancel`). */
const prog = (cb: string, cancel = false) => `${DECLS}${cb}
SEC("syscall") int prog(void *ctx) {
  __u32 k = 0; struct tval *v = bpf_map_lookup_elem(&tm, &k); if (!v) return 0;
  timer_init(&v->t, &tm, 1); timer_set_callback(&v->t, cb); timer_start(&v->t, 0, 0);
  ${cancel ? 'timer_cancel(&v->t);' : ''}
  return 0; }`;

/** The cases. */
export const SLEEP_TIMER_CASES: SleepTimerCase[] = [
  {
    name: 'sleepable-timer',
    source: prog('static int cb(void *map, int *key, struct tval *v) { return 0; }'),
    want: { ok: true },
  },
  {
    name: 'sleepable-timer-restarted-in-callback',
    source: prog('static int cb(void *map, int *key, struct tval *v) { timer_start(&v->t, 1000, 0); return 0; }', true),
    want: { ok: true },
  },
  {
    name: 'sleepable-timer-callback-sleeps',
    source: prog(
      'static int cb(void *map, int *key, struct tval *v) { char b[8]; copy_user(b, 8, (void *)0); return b[0] & 0; }',
    ),
    want: { pc: -1, re: /^helper call might sleep in a non-sleepable prog$/ },
  },
  {
    name: 'sleepable-program-sleeps',
    source: `${DECLS}SEC("syscall") int prog(void *ctx) { char b[8]; copy_user(b, 8, (void *)0); return b[0] & 1; }`,
    want: { ok: true },
  },
  {
    name: 'sleepable-timer-callback-returns-1',
    source: prog('static int cb(void *map, int *key, struct tval *v) { return 1; }'),
    want: {
      pc: -1,
      re: /^At async callback return the register R0 has smin=1 smax=1 should have been in \[0, 0\]$/,
    },
  },
];
