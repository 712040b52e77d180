/**
 * Small restricted-C programs for the features a raw instruction stream cannot carry: global functions
 * (BTF func_info linkage), line_info for the log, bpf_loop callbacks. Compiled with clang in the test
 * (-O2 -g, the repository's fixture header), one object per program; the kernel judges each.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadObjectFile } from '../../src/elf/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { type VerifyOptions, type VerifyResult, verifyProgram } from '../../src/verifier/index.js';
import { hasTool, isRoot, repoPath } from '../support/env.js';
import { type Want, assertKernelAgrees, assertWant, clangWant } from './expect.js';
import { type KernelVerdict, kernelVerdictObject } from './kernel-oracle.js';

/** One C program: a name and its source (after the fixture header and a one-slot array map `arr`). */
export interface CProgram {
  name: string;
  source: string;
}

const PRELUDE = `#include "bpfkit.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } arr SEC(".maps");
struct pair { __u32 a; __u32 b; };
struct withptr { __u64 *p; };
`;

/** The corpus: each a `SEC` program with helpers, deterministic. */
export function cPrograms(): CProgram[] {
  const out: CProgram[] = [];
  const add = (name: string, source: string) => out.push({ name, source });
  // Global functions: scalars, ctx, pointers to sized memory (which may be NULL), bad prototypes.
  add(
    'global-scalar',
    `__noinline int g(int x) { return x * 3; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb->len) & 1; }`,
  );
  add(
    'global-ctx',
    `__noinline int g(struct __sk_buff *skb) { return skb->mark + skb->len; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
  );
  add(
    'global-ctx-packet',
    `__noinline int g(struct __sk_buff *skb) {
       void *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
       if (d + 4 > e) return 0;
       return *(__u32 *)d; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
  );
  add(
    'global-mem-unchecked',
    `__noinline int g(__u32 *p) { return *p; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 v = skb->len; return g(&v); }`,
  );
  add(
    'global-mem-checked',
    `__noinline int g(__u32 *p) { if (!p) return 0; return *p; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 v = skb->len; return g(&v); }`,
  );
  add(
    'global-mem-null-arg',
    `__noinline int g(__u32 *p) { if (!p) return 0; return *p; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(0); }`,
  );
  add(
    'global-mem-past-end',
    `__noinline int g(__u32 *p) { if (!p) return 0; return p[1]; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u64 v = skb->len; return g((__u32 *)&v); }`,
  );
  add(
    'global-struct',
    `__noinline int g(struct pair *p) { if (!p) return 0; p->b = p->a + 1; return p->b; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct pair q = { skb->len, 0 }; return g(&q); }`,
  );
  add(
    'global-struct-too-small',
    `__noinline int g(struct pair *p) { if (!p) return 0; return p->b; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 v = skb->len; return g((struct pair *)&v); }`,
  );
  add(
    'global-map-value',
    `__noinline int g(__u64 *p) { if (!p) return 0; *p += 1; return 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k);
       if (!v) return 0; return g(v); }`,
  );
  add(
    'global-map-value-unchecked',
    `__noinline int g(__u64 *p) { if (!p) return 0; *p += 1; return 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = skb->len; __u64 *v = bpf_map_lookup_elem(&arr, &k);
       return g(v); }`,
  );
  add(
    'global-struct-with-pointer',
    `__noinline int g(struct withptr *p) { if (!p) return 0; return 1; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct withptr w = { 0 }; return g(&w); }`,
  );
  add(
    'global-void-pointer',
    `__noinline int g(void *p) { return p != 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 v = 0; return g(&v); }`,
  );
  add(
    'global-void-return',
    `__noinline void g(__u64 *p) { if (p) *p = 1; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u64 v = 0; g(&v); return v; }`,
  );
  add(
    'global-pointer-as-scalar',
    `__noinline int g(long x) { return x & 1; }
     SEC("tc") int prog(struct __sk_buff *skb) { __u32 v = 0; return g((long)&v); }`,
  );
  add(
    'global-unbounded-index',
    `__noinline int g(__u32 i) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k);
       if (!v) return 0; return ((__u8 *)v)[i]; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(1); }`,
  );
  add(
    'global-bounded-index',
    `__noinline int g(__u32 i) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k);
       if (!v || i >= 8) return 0; return ((__u8 *)v)[i]; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb->len); }`,
  );
  add(
    'global-calls-global',
    `__noinline int h(int x) { return x + 1; }
     __noinline int g(int x) { return h(x) * 2; }
     SEC("xdp") int prog(struct xdp_md *ctx) { return g(ctx->ingress_ifindex) & 3; }`,
  );
  add(
    'global-uncalled-bad',
    `__noinline int g(__u32 *p) { return *p; }
     SEC("xdp") int prog(struct xdp_md *ctx) { return 2; }`,
  );
  add(
    'global-xdp-ctx',
    `__noinline int g(struct xdp_md *x) { void *d = (void *)(long)x->data, *e = (void *)(long)x->data_end;
       if (d + 1 > e) return 1; return *(__u8 *)d == 0 ? 1 : 2; }
     SEC("xdp") int prog(struct xdp_md *ctx) { return g(ctx); }`,
  );
  add(
    'global-static-mixed',
    `static __noinline int s(int *p) { return *p + 1; }
     __noinline int g(int x) { int y = x; return s(&y); }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb->len); }`,
  );
  add(
    'global-returns-stack-fault',
    `__noinline int g(int x) { volatile char buf[8]; return buf[x & 15]; }
     SEC("tc") int prog(struct __sk_buff *skb) { return g(skb->len); }`,
  );
  // bpf_loop callbacks: a counter the callback bounds, a callback writing its context.
  add(
    'loop-callback-ctx',
    `struct lc { __u64 sum; __u32 lim; };
     static long cb(__u32 i, void *data) { struct lc *c = data; c->sum += i; return c->sum > c->lim; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct lc c = { 0, skb->len }; bpf_loop(64, cb, &c, 0); return c.sum & 1; }`,
  );
  add(
    'loop-callback-index',
    `struct lc { __u8 buf[16]; };
     static long cb(__u32 i, void *data) { struct lc *c = data; if (i < 16) c->buf[i] = i; return 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct lc c = {}; bpf_loop(16, cb, &c, 0); return c.buf[3] & 1; }`,
  );
  add(
    'loop-callback-index-unchecked',
    `struct lc { __u8 buf[16]; };
     static long cb(__u32 i, void *data) { struct lc *c = data; c->buf[i & 31] = i; return 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct lc c = {}; bpf_loop(16, cb, &c, 0); return c.buf[3] & 1; }`,
  );
  add(
    'loop-callback-counter',
    `struct lc { __u32 n; __u8 buf[8]; };
     static long cb(__u32 i, void *data) { struct lc *c = data; if (c->n >= 8) return 1; c->buf[c->n] = 1; c->n++; return 0; }
     SEC("tc") int prog(struct __sk_buff *skb) { struct lc c = {}; bpf_loop(100, cb, &c, 0); return c.n & 1; }`,
  );
  // Faults the log should show with their source line.
  add(
    'line-info-fault',
    `SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k);
       return *v; }`,
  );
  add(
    'line-info-packet',
    `SEC("xdp") int prog(struct xdp_md *ctx) { void *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
       if (d + 4 > e) return 1; return *(__u32 *)(d + 2); }`,
  );
  return out;
}

/** Compile every program into `dir` (one .o each); returns [name, path] pairs. Needs clang. */
export function compileCPrograms(programs: readonly CProgram[]): { dir: string; objects: [string, string][] } {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-verifier-c-'));
  const fixtures = repoPath('test/fixtures/elf');
  const multiarch = (() => {
    try {
      return execFileSync('clang', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  const objects: [string, string][] = [];
  try {
    for (const p of programs) {
      const src = join(dir, `${p.name}.c`);
      const obj = join(dir, `${p.name}.o`);
      writeFileSync(src, `${PRELUDE}${p.source}\nchar LICENSE[] SEC("license") = "GPL";\n`);
      const inc = multiarch ? [`-I/usr/include/${multiarch}`] : [];
      execFileSync('clang', ['-O2', '-g', '-target', 'bpfel', ...inc, `-I${fixtures}`, '-c', src, '-o', obj], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      objects.push([p.name, obj]);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, objects };
}

/** A C program with what bpfkit and the kernel say of its `prog` (a pc of -1: clang decides it). */
export interface JudgedCProgram extends CProgram {
  want: Want;
}

/**
 * Compile `cases`, judge each one's `prog` — prepared by `prepare` (as a load prepares it), verified with
 * `opts` — against its expectation and, as root, against the running kernel (verdict, instruction, last
 * line), but for a case expected "not modelled"; `more` sees each pair for a test's own further checks. Skips in one line without clang; without
 * root it checks bpfkit alone, and fails under CI=true.
 */
export function judgeCPrograms(
  t: TestContext,
  cases: readonly JudgedCProgram[],
  options: {
    prepare?: (spec: ObjectSpec) => ObjectSpec;
    opts?: Partial<VerifyOptions>;
    more?: (name: string, v: VerifyResult, k: KernelVerdict) => void;
  } = {},
): void {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  const root = isRoot();
  if (!root) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const { dir, objects } = compileCPrograms(cases);
  try {
    for (const [name, file] of objects) {
      const c = cases.find((x) => x.name === name)!;
      const loaded = loadObjectFile(file);
      const spec = options.prepare ? options.prepare(loaded) : loaded;
      const v = verifyProgram(
        spec,
        spec.programs.find((p) => p.name === 'prog')!,
        options.opts,
      );
      assertWant(name, v, clangWant(c.want, v));
      // "Not modelled" is no prediction: said in one line, and not held to the kernel's verdict.
      if ('unmodelled' in c.want) assert.doesNotMatch(v.message!, /\n/, `${name}: one line`);
      if (!root || 'unmodelled' in c.want) continue;
      const k = kernelVerdictObject(spec, 'prog');
      assertKernelAgrees(name, v, k);
      options.more?.(name, v, k);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
