/**
 * Global functions with `arg:trusted` (and `arg:nullable`) arguments (src/verifier/trusted-args.ts), as
 * compiled C (c-programs.ts's prelude) with the verdict the running kernel (6.18) gives. The programs are
 * tp_btf ones on task_newtask, whose first argument is a trusted task_struct; the struct is declared
 * locally by its kernel name, as vmlinux.h would (the kernel finds its own by name). pc -1: the kernel's
 * instruction, whatever clang made of the source.
 */
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface TrustedCase {
  name: string;
  source: string;
  want: Want;
}

const TRUSTED = '__attribute__((btf_decl_tag("arg:trusted")))';
const NULLABLE = '__attribute__((btf_decl_tag("arg:nullable")))';
const NONNULL = '__attribute__((btf_decl_tag("arg:nonnull")))';
const OK: Want = { ok: true };
const want = (re: RegExp): Want => ({ pc: -1, re });
const CALLER = want(/^Caller passes invalid args into func#1 \('g'\)$/);

/** The kernel structs by their names (their members are not used: only the name is looked up). */
const DECLS = `struct task_struct { int x; };
struct cgroup { int x; };
struct bpfkit_no_such_struct { int x; };
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __attribute__((section(".ksyms")));
extern void bpf_task_release(struct task_struct *p) __attribute__((section(".ksyms")));
`;
/** A tp_btf program on task_newtask calling g with its task, or with `arg`. */
const prog = (arg = '(struct task_struct *)ctx[0]') =>
  `SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { return g(${arg}) & 1; }`;

/** The cases. */
export const TRUSTED_CASES: TrustedCase[] = [
  {
    name: 'trusted: the task',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }\n${prog()}`,
    want: OK,
  },
  {
    name: 'trusted: NULL',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }\n${prog('(void *)0')}`,
    want: CALLER,
  },
  {
    name: 'trusted: a scalar',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }\n${prog('(void *)ctx[1]')}`,
    want: CALLER,
  },
  {
    name: 'trusted: the wrong struct',
    source: `${DECLS}__noinline int g(struct cgroup *t ${TRUSTED}) { return t->x; }\n${prog('(struct cgroup *)ctx[0]')}`,
    want: CALLER,
  },
  {
    name: 'trusted: a struct the kernel lacks',
    source: `${DECLS}__noinline int g(struct bpfkit_no_such_struct *t ${TRUSTED}) { return t->x; }\n${prog('(void *)ctx[0]')}`,
    want: CALLER,
  },
  {
    name: 'trusted: and nonnull',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NONNULL}) { return t->x; }\n${prog()}`,
    want: CALLER,
  },
  {
    name: 'trusted: not a pointer',
    source: `${DECLS}__noinline int g(long t ${TRUSTED}) { return t; }\n${prog('ctx[1]')}`,
    want: CALLER,
  },
  {
    name: 'trusted: written by the callee',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { t->x = 1; return 0; }\n${prog()}`,
    want: want(/^only read is supported$/),
  },
  {
    name: 'nullable: NULL',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NULLABLE}) { if (!t) return 0; return t->x; }\n${prog('(void *)0')}`,
    want: OK,
  },
  {
    name: 'nullable: the task',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NULLABLE}) { if (!t) return 0; return t->x; }\n${prog()}`,
    want: OK,
  },
  {
    name: 'nullable: read unchecked',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NULLABLE}) { return t->x; }\n${prog()}`,
    want: want(/^R1 invalid mem access 'trusted_ptr_or_null_'$/),
  },
  {
    name: 'trusted: the context of a kprobe',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t ? 1 : 0; }
SEC("kprobe/x") int prog(void *ctx) { return g(ctx) & 1; }`,
    want: CALLER,
  },
  {
    name: 'trusted: the stack',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { struct task_struct s = {}; return g(&s) & 1; }`,
    want: CALLER,
  },
  {
    name: 'trusted: a maybe-NULL one from a nullable argument',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }
__noinline int h(struct task_struct *t ${TRUSTED} ${NULLABLE}) { return g(t); }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { return h((void *)ctx[0]) & 1; }`,
    want: want(/^Caller passes invalid args into func#2 \('g'\)$/),
  },
  {
    name: 'trusted: at an offset',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }\n${prog('(void *)(ctx[0] + 8)')}`,
    want: CALLER,
  },
  // A referenced task (bpf_task_acquire) is trusted, NULL-checked or not; maybe NULL only for a nullable one.
  {
    name: 'trusted: an acquired task, maybe NULL',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { struct task_struct *a = bpf_task_acquire((void *)ctx[0]);
  int r = g(a); if (a) bpf_task_release(a); return r & 1; }`,
    want: CALLER,
  },
  {
    name: 'nullable: an acquired task, maybe NULL',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NULLABLE}) { return t ? t->x : 0; }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { struct task_struct *a = bpf_task_acquire((void *)ctx[0]);
  int r = g(a); if (a) bpf_task_release(a); return r & 1; }`,
    want: OK,
  },
  {
    name: 'trusted: an acquired task, checked',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED}) { return t->x; }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { struct task_struct *a = bpf_task_acquire((void *)ctx[0]);
  if (!a) return 0; int r = g(a); bpf_task_release(a); return r & 1; }`,
    want: OK,
  },
  {
    name: 'nullable: passed on to a nullable argument',
    source: `${DECLS}__noinline int g(struct task_struct *t ${TRUSTED} ${NULLABLE}) { return t ? t->x : 0; }
__noinline int h(struct task_struct *t ${TRUSTED} ${NULLABLE}) { return g(t); }
SEC("tp_btf/task_newtask") int prog(__u64 *ctx) { return h((void *)ctx[0]) & 1; }`,
    want: OK,
  },
];
