/**
 * BCC's dialect: the rewriter on tricky text (comments and strings untouched, lines kept, nested
 * arguments, refusals at their place), and BCC-style programs compiled by clang and run in the VM and in
 * the kernel (BPF_PROG_TEST_RUN) with every table method's BCC semantics asserted on both engines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileC, CompileError, KERNEL_BTF } from '../../src/compile/index.js';
import { BtfKind, parseBtf } from '../../src/btf/btf.js';
import { rewriteBcc } from '../../src/compile/bcc/rewrite.js';
import { BCC_KERNEL_HEADERS } from '../../src/compile/bcc/header.js';
import { tokenize } from '../../src/compile/bcc/tokens.js';
import { applyBccTypes } from '../../src/compile/bcc/types.js';
import { bccTracepointStruct } from '../../src/compile/bcc/tracepoint.js';
import { loadCollection } from '../../src/loader/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { needs, repoPath } from '../support/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-bcc-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR = path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function rejectsAt(fn: () => unknown, where: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CompileError, String(err));
    assert.equal(err.where, where);
    assert.ok(err.message.startsWith(`${where}: `), err.message);
    assert.match(err.message.slice(where.length + 2), message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}

test('rewriter: methods become __bcc_ calls; comments, strings and directives stay; lines are kept', () => {
  const src = [
    'BPF_HASH(counts, u32, u64);',
    '#define X counts.lookup(k) /* a directive: untouched */',
    '// counts.lookup(&k) in a comment',
    'static int f(u32 k) {',
    '  char s[] = "counts.lookup(&k)";',
    "  char c = '.';",
    '  u64 *v = counts.lookup(&k);',
    '  counts.increment(bump(k, (1 + 2)), sizeof(struct { int a, b; }));',
    '  counts.update(&k,',
    '    v);',
    '  /* multi',
    '     line counts.delete(&k) */ return counts.delete(&k);',
    '}',
    'u64 n = sizeof(counts.key) + sizeof(counts.leaf);',
  ].join('\n');
  const r = rewriteBcc(src, 'm.c');
  const out = r.text.split('\n');
  assert.equal(out.length, src.split('\n').length);
  assert.equal(out[0], 'BPF_HASH(counts, u32, u64);');
  assert.equal(out[1], src.split('\n')[1]);
  assert.equal(out[2], '// counts.lookup(&k) in a comment');
  assert.equal(out[4], '  char s[] = "counts.lookup(&k)";');
  assert.equal(out[6], '  u64 *v = __bcc_lookup(counts, &k);');
  assert.equal(out[7], '  __bcc_increment(counts, bump(k, (1 + 2)), sizeof(struct { int a, b; }));');
  assert.equal(out[8], '  __bcc_update(counts, &k,');
  assert.equal(out[11], '     line counts.delete(&k) */ return __bcc_delete(counts, &k);');
  assert.equal(out[13], 'u64 n = sizeof((*counts.key)) + sizeof((*counts.value));');
  assert.deepEqual(r.tables, [{ name: 'counts', macro: 'BPF_HASH', line: 1 }]);
  assert.deepEqual(r.programs, [], 'a static function is a subfunction');
  // A column after an edit maps back to the user's: `&k` is at column 29 of line 7 in the user's text.
  assert.equal(r.mapColumn(7, out[6].indexOf('&k') + 1), src.split('\n')[6]!.indexOf('&k') + 1);
  assert.equal(r.mapColumn(7, 3), 3, 'before the edit: unchanged');
});

test('tokenizer: directives with continuations, escaped quotes, char literals, prefixed strings, comments in directives', () => {
  const src = [
    '#define LOOK(k) \\',
    '  counts.lookup(k)',
    '#if 0 /* a comment that runs',
    '   onto the next line */',
    'char *s = "a\\"counts.lookup(1)\\"", q = \'"\', r = \'\\\'\';',
    'char *u = u8"counts.lookup(2)"; /* counts.lookup(3) */ int x = a->b . c;',
  ].join('\n');
  const toks = tokenize(src);
  assert.deepEqual(
    toks.map((t) => t.text),
    [
      'char',
      '*',
      's',
      '=',
      '"a\\"counts.lookup(1)\\""',
      ',',
      'q',
      '=',
      "'\"'",
      ',',
      'r',
      '=',
      "'\\''",
      ';',
      'char',
      '*',
      'u',
      '=',
      'u8"counts.lookup(2)"',
      ';',
      'int',
      'x',
      '=',
      'a',
      '->',
      'b',
      '.',
      'c',
      ';',
    ],
  );
  assert.equal(rewriteBcc(`BPF_HASH(counts);\n${src}`).text, `BPF_HASH(counts);\n${src}`, 'nothing to rewrite there');
});

test('rewriter: a method with no arguments, a name that is a member elsewhere, BPF_TABLE types', () => {
  const r = rewriteBcc(
    'BPF_TABLE("hash", struct Key, struct Leaf, sessions, 1024);\nBPF_RINGBUF_OUTPUT(rb, 1);\nint f(void *c) { x.sessions.lookup(1); p->sessions.update(2); return rb.ringbuf_reserve() != 0; }\n',
  );
  assert.match(r.text, /^BPF_TABLE\(__bcc_hash, struct Key, struct Leaf, sessions, 1024\);/);
  assert.match(r.text, /x\.sessions\.lookup\(1\); p->sessions\.update\(2\);/);
  assert.match(r.text, /return __bcc_ringbuf_reserve\(rb\) != 0;/);
});

test('rewriter: non-static functions are programs, named attach points give their section', () => {
  const r = rewriteBcc(
    [
      'static inline int helper(int x) { return x; }',
      '__always_inline int h2(void) { return 0; }',
      'int http_filter(struct __sk_buff *skb) { return helper(0); }',
      'int kprobe__tcp_v4_connect(struct pt_regs *ctx) { return 0; }',
      'int kretprobe__tcp_v4_connect(struct pt_regs *ctx) { return 0; }',
      'int raw_tracepoint__sched_switch(struct bpf_raw_tracepoint_args *ctx) { return 0; }',
      'TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return args->dfd; }',
      'RAW_TRACEPOINT_PROBE(sched_wakeup) { return 0; }',
      'int decl_only(void *ctx);',
      'struct s { int (*fp)(int); } v = { 0 };',
      'SEC("xdp") int libbpf_style(void *ctx) { return 2; }',
    ].join('\n'),
  );
  assert.deepEqual(
    r.programs.map((p) => [p.name, p.section, p.untyped]),
    [
      ['http_filter', 'bcc/http_filter', true],
      ['kprobe__tcp_v4_connect', 'kprobe/tcp_v4_connect', false],
      ['kretprobe__tcp_v4_connect', 'kretprobe/tcp_v4_connect', false],
      ['raw_tracepoint__sched_switch', 'raw_tp/sched_switch', false],
      ['tracepoint__syscalls__sys_enter_openat', 'tracepoint/syscalls/sys_enter_openat', false],
      ['raw_tracepoint__sched_wakeup', 'raw_tp/sched_wakeup', false],
    ],
  );
  assert.deepEqual(r.tracepoints, [['syscalls', 'sys_enter_openat']]);
  const lines = r.text.split('\n');
  assert.equal(lines.length, 11);
  assert.equal(
    lines[2],
    '__attribute__((section("bcc/http_filter"), used)) int http_filter(struct __sk_buff *skb) { return helper(0); }',
  );
  assert.equal(lines[0], 'static inline int helper(int x) { return x; }');
  assert.equal(
    lines[6],
    'TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return args->dfd; }',
    'bcc.h gives it its section',
  );
});

test('rewriter: refusals in one line at file:line:column', () => {
  rejectsAt(
    () => rewriteBcc('BPF_HASH(h);\nint f(void *c) {\n  u64 *v = h.lookup_or_bust(&k);\n}', 'u.c'),
    'u.c:3:14',
    /^'lookup_or_bust' is not a table method bpfkit supports \(lookup, lookup_or_init, .*get_stackid\)$/,
  );
  rejectsAt(
    () =>
      rewriteBcc(
        'int f(struct __sk_buff *skb) {\n  u8 *cursor = 0;\n    struct ethernet_t *e = cursor_advance(cursor, 14);\n}',
        'p.c',
      ),
    'p.c:3:28',
    /^cursor_advance: BCC's packet-header rewrite .* not supported; read the packet with load_byte\/load_half\/load_word\(skb, offset\) or bpf_skb_load_bytes/,
  );
  rejectsAt(
    () => rewriteBcc('BPF_TABLE("trie", int, int, t, 4);', 't.c'),
    't.c:1:11',
    /unknown table type "trie" \(known: hash, array/,
  );
  rejectsAt(
    () => rewriteBcc('BPF_HASH(h);\nint x = h.max_entries;', 'x.c'),
    'x.c:2:11',
    /'h\.max_entries': a table has the members key and leaf/,
  );
  rejectsAt(
    () => rewriteBcc('BPF_SOCKMAP(s, 4);', 's.c'),
    's.c:1:1',
    /^BPF_SOCKMAP is not supported by bpfkit's BCC dialect/,
  );
  rejectsAt(
    () => rewriteBcc('int kretprobe__tcp_v4_connect(struct pt_regs *ctx, struct sock *sk) { return 0; }', 'k.c'),
    'k.c:1:52',
    /^kretprobe__tcp_v4_connect: at a function's return its argument registers no longer hold the arguments/,
  );
  rejectsAt(
    () => rewriteBcc('int f(struct __sk_buff *skb, int x) { return 0; }', 'k2.c'),
    'k2.c:1:30',
    /^f: extra arguments are probe arguments, read from registers: the first parameter must be 'struct pt_regs \*ctx'$/,
  );
  rejectsAt(
    () => rewriteBcc('int f(struct pt_regs *c, int a, int b, int d, int e, int g, int h, int i) { return 0; }', 'k3.c'),
    'k3.c:1:68',
    /^f: only the first 6 arguments are passed in registers$/,
  );
  rejectsAt(
    () => rewriteBcc('int f(struct pt_regs *c, char s[8]) { return 0; }', 'k4.c'),
    'k4.c:1:26',
    /a probe argument is declared as 'TYPE NAME'/,
  );
  rejectsAt(() => rewriteBcc('int f(void *c) { BPF_HASH(h); return 0; }', 'd.c'), 'd.c:1:18', /only at file scope/);
  rejectsAt(
    () => rewriteBcc('int g(void *c) { return 1; }\nint f(void *c) {\n  return g(c);\n}', 'c.c'),
    'c.c:3:10',
    /^cannot call g: a non-static function is a program; make the helper static$/,
  );
  rejectsAt(
    () => rewriteBcc('BPF_TABLE(HASH, int, int, t, 4);', 'q.c'),
    'q.c:1:11',
    /the first argument is the table type, a string/,
  );
});

test('tracepoint struct: fields at their offsets, pointers typed as the format declares', () => {
  const s = bccTracepointStruct('syscalls', 'sys_enter_openat', [
    { decl: 'unsigned short common_type', name: 'common_type', offset: 0, size: 2, signed: false, arrayLength: 0 },
    { decl: 'int __syscall_nr', name: '__syscall_nr', offset: 8, size: 4, signed: true, arrayLength: 0 },
    { decl: 'int dfd', name: 'dfd', offset: 16, size: 8, signed: false, arrayLength: 0 },
    { decl: 'const char * filename', name: 'filename', offset: 24, size: 8, signed: false, arrayLength: 0 },
    { decl: 'umode_t mode', name: 'mode', offset: 32, size: 8, signed: false, arrayLength: 0 },
    { decl: '__data_loc char[] comm', name: 'comm', offset: 40, size: 4, signed: false, arrayLength: 0 },
  ]);
  assert.equal(
    s,
    'struct tracepoint__syscalls__sys_enter_openat {\n\t__u16 common_type;\n\t__u8 __pad0[6];\n\t__s32 __syscall_nr;\n\t__u8 __pad1[4];\n\t__u64 dfd;\n\tconst char * filename;\n\t__u64 mode;\n\tint data_loc_comm;\n} __attribute__((packed, aligned(8)));\n',
  );
});

/** One BCC program per method: the packet's byte 0 is the key, byte 1 the amount. */
const METHODS = `
BPF_HASH(h, u32, u64, 16);
BPF_HASH(tiny, u32, u64, 1);
BPF_LRU_HASH(lru, u32, u64, 16);
BPF_ARRAY(a, u64, 4);
BPF_HISTOGRAM(hist);
BPF_HISTOGRAM(hhist, u32);
BPF_QUEUE(q, u32, 8);
BPF_PROG_ARRAY(jmp, 4);
BPF_RINGBUF_OUTPUT(rb, 1);
BPF_STACK(st, u32, 8);

static u32 key_of(struct __sk_buff *skb) { return load_byte(skb, 0); }
static u64 amount(struct __sk_buff *skb) { return load_byte(skb, 1); }

int try_init(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  u64 init = 100;
  u64 *v = h.lookup_or_try_init(&k, &init);
  return v ? *v : 1000;
}
int tiny_try_init(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  u64 init = 5;
  u64 *v = tiny.lookup_or_try_init(&k, &init);
  return v ? *v : 1000;
}
int tiny_or_init(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  u64 init = 5;
  u64 *v = tiny.lookup_or_init(&k, &init);
  return v ? *v + 2000 : 3000;
}
int do_lookup(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  typeof(h.leaf) *v = h.lookup(&k);
  return v ? *v : 1000;
}
int do_update(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  u64 v = amount(skb);
  return h.update(&k, &v);
}
int do_insert(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  u64 v = amount(skb);
  return h.insert(&k, &v);
}
int do_delete(struct __sk_buff *skb) {
  u32 k = key_of(skb);
  return h.delete(&k);
}
int incr_h(struct __sk_buff *skb) { h.increment(key_of(skb), amount(skb)); return 0; }
int incr_h1(struct __sk_buff *skb) { h.increment(key_of(skb)); return 0; }
int incr_lru(struct __sk_buff *skb) { lru.increment(key_of(skb)); return 0; }
int incr_a(struct __sk_buff *skb) { a.increment(key_of(skb), amount(skb)); return 0; }
int aincr_a(struct __sk_buff *skb) { a.atomic_increment(key_of(skb)); return 0; }
int incr_hist(struct __sk_buff *skb) { hist.increment(key_of(skb)); hhist.increment(key_of(skb)); return 0; }
int queue(struct __sk_buff *skb) {
  u32 v = key_of(skb), w = amount(skb), out = 0, top = 0;
  if (q.push(&v, 0) || q.push(&w, 0)) return 1000;
  if (q.peek(&top)) return 1001;
  if (q.pop(&out)) return 1002;
  return top * 1000 + out;
}
int stack(struct __sk_buff *skb) {
  u32 v = key_of(skb), w = amount(skb), out = 0;
  st.push(&v, 0);
  st.push(&w, 0);
  if (st.pop(&out)) return 1000;
  return out;
}
int ring(struct __sk_buff *skb) {
  u32 v = key_of(skb);
  if (rb.ringbuf_output(&v, sizeof(v), 0)) return 1000;
  u32 *r = rb.ringbuf_reserve(sizeof(u32));
  if (!r) return 1001;
  *r = v + 1;
  rb.ringbuf_submit(r, 0);
  r = rb.ringbuf_reserve(sizeof(u32));
  if (!r) return 1002;
  *r = v + 2;
  rb.ringbuf_discard(r, 0);
  return 0;
}
int logs(struct __sk_buff *skb) {
  u64 v = ((u64)load_word(skb, 4) << 32) | load_word(skb, 8);
  return bpf_log2l(v) * 100 + bpf_log2((u32)v);
}
int tail(struct __sk_buff *skb) { jmp.call(skb, key_of(skb)); return 55; }
int target(struct __sk_buff *skb) { return 66; }
`;

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'none');

async function methodsSpec(): Promise<ObjectSpec> {
  const r = await compileC(METHODS, { dialect: 'bcc', filename: 'methods.c' });
  const names = r.bcc!.programs.map((p) => p.name);
  const spec = applyBccTypes(r.spec, Object.fromEntries(names.map((n) => [n, 'socket_filter'])));
  // jmp[1] = target, as BCC's `jmp[c_int(1)] = c_int(target.fd)`
  return {
    ...spec,
    maps: spec.maps.map((m) =>
      m.name === 'jmp' ? { ...m, contents: [{ key: u32(1), value: { program: 'target' } }] } : m,
    ),
  };
}

for (const engine of ['vm', 'kernel'] as const) {
  test(`BCC table methods keep BCC's semantics (${engine})`, async (t) => {
    if (!needs(t, { tools: ['clang'], ...(engine === 'kernel' ? { root: true } : {}) })) return;
    const c = await loadCollection(await methodsSpec(), { engine });
    try {
      const run = (prog: string, key: number, amt = 0) => {
        const data = new Uint8Array(64);
        data[0] = key;
        data[1] = amt;
        return c.program(prog).run({ data }).retval;
      };
      const h = c.maps.get('h')!;
      // lookup_or_try_init: inserts init when missing, returns the existing value otherwise (no overwrite).
      assert.equal(run('try_init', 1), 100);
      assert.equal(run('do_update', 1, 7), 0);
      assert.equal(run('try_init', 1), 7, 'the existing value, not init');
      assert.equal(hex(h.lookup(u32(1))), hex(u64(7)));
      // lookup: the value, typed through typeof(h.leaf); a missing key is NULL.
      assert.equal(run('do_lookup', 1), 7);
      assert.equal(run('do_lookup', 2), 1000);
      // insert is BPF_NOEXIST: an existing key is left alone (-EEXIST); update is BPF_ANY.
      assert.equal(run('do_insert', 1, 9) | 0, -17);
      assert.equal(hex(h.lookup(u32(1))), hex(u64(7)));
      assert.equal(run('do_insert', 2, 9), 0);
      assert.equal(hex(h.lookup(u32(2))), hex(u64(9)));
      assert.equal(run('do_update', 2, 3), 0);
      assert.equal(hex(h.lookup(u32(2))), hex(u64(3)));
      // delete: 0, then -ENOENT.
      assert.equal(run('do_delete', 2), 0);
      assert.equal(run('do_delete', 2) | 0, -2);
      // increment in a HASH: += n when present; a missing key is inserted with n (default 1).
      run('incr_h', 1, 5);
      assert.equal(hex(h.lookup(u32(1))), hex(u64(12)));
      run('incr_h', 3, 4);
      assert.equal(hex(h.lookup(u32(3))), hex(u64(4)));
      run('incr_h1', 4);
      run('incr_h1', 4);
      assert.equal(hex(h.lookup(u32(4))), hex(u64(2)));
      // ...but not in an LRU hash: BCC inserts only for BPF_MAP_TYPE_HASH.
      run('incr_lru', 1);
      assert.equal(hex(c.maps.get('lru')!.lookup(u32(1))), 'none');
      // arrays: increment and atomic_increment add in place; out of range does nothing.
      run('incr_a', 2, 6);
      run('aincr_a', 2);
      run('incr_a', 9, 6);
      assert.equal(hex(c.maps.get('a')!.lookup(u32(2))), hex(u64(7)));
      // histogram: an int key makes an array, any other key a hash (both count from 0).
      assert.equal(c.maps.get('hist')!.type, 2);
      assert.equal(c.maps.get('hhist')!.type, 1);
      run('incr_hist', 5);
      run('incr_hist', 5);
      assert.equal(hex(c.maps.get('hist')!.lookup(u32(5))), hex(u64(2)));
      assert.equal(hex(c.maps.get('hhist')!.lookup(u32(5))), hex(u64(2)));
      // lookup_or_try_init when the insert fails (a full 1-entry hash): NULL; lookup_or_init returns 0
      // from the program instead.
      assert.equal(run('tiny_try_init', 1), 5);
      assert.equal(run('tiny_try_init', 2), 1000);
      assert.equal(run('tiny_or_init', 2), 0);
      assert.equal(run('tiny_or_init', 1), 2005);
      // queue: push, peek (the oldest), pop; stack: pop gives the newest.
      assert.equal(run('queue', 3, 4), 3003);
      assert.equal(run('stack', 3, 4), 4);
      // ring buffer: ringbuf_output and a submitted reservation arrive, a discarded one does not.
      assert.equal(run('ring', 9), 0);
      const rb = c.maps.get('rb') as unknown as { consume(): Uint8Array[] };
      assert.deepEqual(rb.consume().map(hex), [hex(u32(9)), hex(u32(10))]);
      // bpf_log2l/bpf_log2, BCC's histogram slots (1 for 0 and 1, floor(log2 v) + 1 after).
      const logs = (v: bigint) => {
        const data = new Uint8Array(64);
        new DataView(data.buffer).setBigUint64(4, v, false); // load_word reads big-endian
        return c.program('logs').run({ data }).retval;
      };
      assert.deepEqual(
        [0n, 1n, 2n, 3n, 4n, 7n, 8n, 0xffffffffn, 1n << 40n, (1n << 64n) - 1n].map(logs),
        [100, 100, 201, 201, 302, 302, 403, 3231, 4100, 6431],
      );
      // call: a tail call to jmp[1] does not return; an empty slot falls through.
      assert.equal(run('tail', 1), 66);
      assert.equal(run('tail', 2), 55);
    } finally {
      c.close();
    }
  });
}

test('a BCC socket filter (the seed program shape) with BPF_TABLE("hash"): same verdicts in the VM and the kernel', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src = `#include <uapi/linux/ptrace.h>
#include <net/sock.h>
#include <bcc/proto.h>
#include <linux/ip.h>
struct Key { u32 src_ip; u32 dst_ip; unsigned short src_port; unsigned short dst_port; };
struct Leaf { int timestamp; };
BPF_TABLE("hash", struct Key, struct Leaf, sessions, 1024);
int http_filter(struct __sk_buff *skb) {
  if (load_half(skb, 12) != ETH_P_IP) return 0;
  if (load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)) != IPPROTO_TCP) return 0;
  struct Key key = {};
  key.src_ip = load_word(skb, ETH_HLEN + 12);
  key.dst_ip = load_word(skb, ETH_HLEN + 16);
  key.src_port = load_half(skb, ETH_HLEN + 20);
  key.dst_port = load_half(skb, ETH_HLEN + 22);
  struct Leaf *lookup_leaf = sessions.lookup(&key);
  if (lookup_leaf) return -1;               /* a known session: keep the packet */
  if (load_byte(skb, ETH_HLEN + 40) != 'G') return 0;
  struct Leaf zero = {0};
  sessions.lookup_or_try_init(&key, &zero);
  return -1;
}
`;
  const r = await compileC(src, { dialect: 'bcc', filename: 'http-filter.c' });
  // Untyped and not given a type: not loaded, and asking for it says why.
  const untyped = applyBccTypes(r.spec, {});
  assert.match(
    untyped.programs[0]!.unsupported!,
    /^program http_filter has no type: .*types: \{ http_filter: 'socket_filter' \}/,
  );
  assert.throws(
    () => applyBccTypes(r.spec, { nope: 'xdp' }),
    /types: no program function nope \(programs: http_filter\)/,
  );
  const spec = applyBccTypes(r.spec, { http_filter: 'SOCKET_FILTER' });
  assert.equal(spec.programs[0]!.type, 1);
  const frame = (payload: string, sport: number) => {
    const b = new Uint8Array(14 + 20 + 20 + payload.length);
    b[12] = 0x08;
    b[14] = 0x45;
    b[14 + 9] = 6;
    b.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
    b.set([sport >> 8, sport & 255, 0, 80], 34);
    b.set(Buffer.from(payload), 54);
    return b;
  };
  const steps = [
    frame('GET / HTTP/1.1', 40000),
    frame('more data', 40000),
    frame('more data', 40001),
    frame('POST /', 40002),
  ];
  const outcome: Record<string, string> = {};
  for (const engine of ['vm', 'kernel'] as const) {
    if (engine === 'kernel' && !needs(t, { root: true })) continue;
    const c = await loadCollection(spec, { engine });
    try {
      const verdicts = steps.map((data) => c.program('http_filter').run({ data }).retval | 0);
      const keys = [...c.maps.get('sessions')!.keys()].map(hex);
      outcome[engine] = JSON.stringify({ verdicts, keys });
      assert.deepEqual(verdicts, [-1, -1, 0, 0]);
      // (load_word/load_half give host-order values: stored little-endian here)
      assert.deepEqual(keys, ['0100000a0200000a409c5000']);
    } finally {
      c.close();
    }
  }
  if (outcome.kernel) assert.equal(outcome.kernel, outcome.vm);
});

test("rewriter: BCC's extra probe arguments become reads of the context's registers, every column kept", () => {
  const src = [
    'int kprobe__tcp_v4_connect(struct pt_regs *ctx, struct sock *sk,',
    '                           int flags) {',
    '  return flags;',
    '}',
    'int syscall__execve(struct pt_regs *regs, const char __user *filename) { return 0; }',
  ].join('\n');
  const r = rewriteBcc(src, 'p.c');
  const out = r.text.split('\n');
  assert.equal(out.length, 5);
  assert.deepEqual(
    r.programs.map((p) => p.section),
    ['kprobe/tcp_v4_connect', 'bcc/syscall__execve'],
  );
  // The extra parameters are blanked in place: the first line keeps its length after the section attribute.
  assert.match(out[0]!, /int kprobe__tcp_v4_connect\(struct pt_regs \*ctx {18}$/);
  assert.equal(
    out[1],
    '                                    ) { struct sock * sk = (struct sock *)PT_REGS_PARM1(ctx); int flags = (int)PT_REGS_PARM2(ctx);',
  );
  assert.equal(out[2], '  return flags;');
  // A column after the inserted declarations maps back to the user's; one inside them to the brace.
  const brace = src.split('\n')[1]!.indexOf('{') + 1;
  assert.equal(r.mapColumn(2, out[1].length), brace + 1);
  assert.equal(r.mapColumn(2, brace + 10), brace + 1);
  // A syscall's entry reads its arguments from the user registers its wrapper saved, in kernel memory.
  assert.ok(
    out[4]!.includes(
      'bpf_probe_read_kernel(&__bcc_arg1, sizeof(__bcc_arg1), &__BCC_SYSCALL_PARM1((struct pt_regs *)PT_REGS_PARM1(regs))); const char __user * filename = (const char __user *)__bcc_arg1;',
    ),
    out[4],
  );
});

test('clang errors in BCC text point at the user file:line:column', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src =
    'BPF_HASH(h, u32);\nint f(struct __sk_buff *skb) {\n  u32 k = 0;\n  u64 *v = h.lookup(&k); return v ? *v + y : 0;\n}\n';
  await assert.rejects(compileC(src, { dialect: 'bcc', filename: 'e.c' }), (err: unknown) => {
    assert.ok(err instanceof CompileError);
    assert.equal(err.message, "e.c:4:42: use of undeclared identifier 'y'");
    return true;
  });
  // An error on the line where the rewrite put the program's section attribute, after a method call.
  await assert.rejects(
    compileC('BPF_HASH(h);\nint f(struct __sk_buff *skb) { u64 k = 0; h.increment(k); return z; }\n', {
      dialect: 'bcc',
      filename: 'e2.c',
    }),
    (err: unknown) => err instanceof CompileError && err.message === "e2.c:2:66: use of undeclared identifier 'z'",
  );
  await assert.rejects(
    compileC('BPF_HASH(h);\nTRACEPOINT_PROBE(syscalls, sys_enter_openat) { return 0; }\n', {
      dialect: 'bcc',
      filename: 'tp.c',
    }),
    /tp\.c: TRACEPOINT_PROBE\(syscalls, sys_enter_openat\) needs the tracepoint's format: load with BPF\.fromBcc/,
  );
});

test('the other methods and probes compile to the helpers BCC calls (stack ids, devmap, perf_submit_skb, printk)', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src = `#include <uapi/linux/ptrace.h>
BPF_STACK_TRACE(stacks, 64);
BPF_HASH(h, u32);
BPF_DEVMAP(ports, 4);
BPF_PERF_OUTPUT(skb_events);
BPF_PERCPU_ARRAY(pc, u64, 2);
RAW_TRACEPOINT_PROBE(sched_switch) {
  int id = stacks.get_stackid(ctx, BPF_F_USER_STACK);
  bpf_trace_printk("stack %d prev %llx\\\\n", id, ctx->args[1]);
  return 0;
}
int xdp_fwd(struct xdp_md *x) { return ports.redirect_map(0, 0); }
int sock(struct __sk_buff *skb) { u32 m = skb->len; skb_events.perf_submit_skb(skb, skb->len, &m, sizeof(m)); pc.increment(0); return 0; }
`;
  const r = await compileC(src, { dialect: 'bcc', filename: 'more.c' });
  const calls = (name: string) =>
    r.spec.programs
      .find((p) => p.name === name)!
      .insns.filter((i) => i.code === 0x85 && i.src === 0)
      .map((i) => i.imm);
  assert.deepEqual(calls('raw_tracepoint__sched_switch'), [27, 6], 'get_stackid, trace_printk');
  assert.deepEqual(calls('xdp_fwd'), [51], 'redirect_map');
  assert.deepEqual(calls('sock'), [25, 1], 'perf_event_output, then the per-CPU lookup (no insert: not a HASH)');
  const types = Object.fromEntries(r.spec.maps.map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries]]));
  assert.deepEqual(types.stacks, [7, 4, 127 * 8, 64]);
  assert.deepEqual(types.ports, [14, 4, 4, 4]);
  assert.deepEqual(types.skb_events, [4, 4, 4, 0]);
  assert.deepEqual(types.pc, [6, 4, 8, 2]);
  assert.deepEqual(types.h, [1, 4, 8, 10240], 'BPF_HASH(name, key): leaf u64, 10240 entries');
  // get_stackid on a table that is not a stack trace: refused at compile time, as BCC does.
  await assert.rejects(
    compileC('BPF_HASH(h);\nint f(void *ctx) { return h.get_stackid(ctx, 0); }\n', {
      dialect: 'bcc',
      filename: 'gs.c',
    }),
    /get_stackid only available on stacktrace maps/,
  );
  // A histogram's leaf must be u64 (BCC refuses the others).
  await assert.rejects(
    compileC('BPF_TABLE("histogram", int, u32, hh, 8);\n', { dialect: 'bcc', filename: 'hh.c' }),
    /hh\.c:1:1: static_assert failed .*histogram leaf type must be u64/,
  );
});

test("LINUX_VERSION_CODE is the running kernel's and KERNEL_VERSION is linux/version.h's, as BCC tools test them", async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const [a, b, c] = (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(os.release()) ?? []).slice(1).map((x) => Number(x ?? 0));
  const code = (a! << 16) + (b! << 8) + Math.min(255, c!);
  const src = `#include <linux/version.h>
#if LINUX_VERSION_CODE != ${code} || KERNEL_VERSION(${a}, ${b}, ${c}) != ${code}
#error version
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(4, 11, 0)
#error old
#endif
int probe(struct pt_regs *ctx) { return KERNEL_VERSION(5, 10, 300) == KERNEL_VERSION(5, 10, 255); }
`;
  const r = await compileC(src, { dialect: 'bcc', filename: 'version.c' });
  assert.deepEqual(
    r.spec.programs.map((p) => p.name),
    ['probe'],
  );
});

test('every kernel-header stub compiles, together, with the constants BCC programs take from them', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src = `${BCC_KERNEL_HEADERS.map((h) => `#include <${h}>`).join('\n')}
int probe(struct pt_regs *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  char comm[TASK_COMM_LEN];
  char path[PATH_MAX > 64 ? 64 : PATH_MAX];
  bpf_probe_read_kernel(&comm, sizeof(comm), &task->comm);
  path[0] = comm[0];
  return path[0] + ETH_HLEN + ETH_P_IP + IPPROTO_TCP + AF_INET6 + TC_ACT_SHOT + XDP_PASS + NAME_MAX + (int)PT_REGS_PARM1(ctx);
}
`;
  const r = await compileC(src, { dialect: 'bcc', filename: 'stubs.c' });
  assert.deepEqual(
    r.spec.programs.map((p) => p.name),
    ['probe'],
  );
  assert.deepEqual(r.warnings, []);
});

test('any other kernel header a BCC program includes reads the stub: its types come from vmlinux.h', async (t) => {
  // bcc's profile, llcstat, hardirqs and runqlat include <uapi/linux/bpf_perf_event.h>, <linux/irq.h>,
  // <linux/mmzone.h>..., which no list names; BCC reads the kernel's own, bpfkit has the types in BTF.
  const src = [
    '#include <uapi/linux/bpf_perf_event.h>',
    '#  include <linux/mmzone.h>',
    '#include "linux/local.h" /* quoted: the program\'s own, left alone */',
    'int on_sample(struct bpf_perf_event_data *ctx) { return ctx->sample_period > 0; }',
  ].join('\n');
  const r = rewriteBcc(src, 'p.c');
  assert.deepEqual(r.text.split('\n').slice(0, 3), [
    '#include <bcc/kernel.h>',
    '#  include <bcc/kernel.h>',
    '#include "linux/local.h" /* quoted: the program\'s own, left alone */',
  ]);
  if (!needs(t, { tools: ['clang'] })) return;
  const c = await compileC(src.replace(/^#include "linux\/local.h".*$/m, ''), { dialect: 'bcc', filename: 'p.c' });
  assert.deepEqual(
    c.spec.programs.map((p) => p.name),
    ['on_sample'],
  );
  assert.deepEqual(c.warnings, []);
});

test('bpfkit cc --bcc, then verify: probe arguments verified as a kprobe; a function named for no attach point asks for --type', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src = path.join(dir, 'probes.c');
  const obj = path.join(dir, 'probes.o');
  writeFileSync(
    src,
    `int kprobe__tcp_v4_connect(struct pt_regs *ctx, struct sock *sk) {
  u16 dport = 0;
  bpf_probe_read_kernel(&dport, sizeof(dport), &sk->__sk_common.skc_dport);
  return dport;
}
int syscall__openat(struct pt_regs *ctx, int dfd, const char __user *filename) { return dfd; }
`,
  );
  const bpfkit = (...args: string[]) =>
    spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), ...args], { encoding: 'utf8', env: process.env });
  const cc = bpfkit('cc', '--bcc', src, '-o', obj);
  assert.equal(cc.status, 0, cc.stderr);
  const all = bpfkit('verify', obj);
  assert.equal(all.status, 1);
  assert.equal(
    all.stdout + all.stderr,
    "kprobe__tcp_v4_connect: accepted\nsyscall__openat: not modelled at insn 0: program 'syscall__openat': its section 'bcc/syscall__openat' names no program type: give one with --type\n",
  );
  const typed = bpfkit('verify', obj, '--program', 'syscall__openat', '--type', 'kprobe');
  assert.equal(typed.stdout, 'syscall__openat: accepted\n', typed.stderr);
  assert.equal(typed.status, 0);
});

test("rewriter: a program's copy of a private kernel struct is renamed everywhere it is named, vmlinux.h keeps its own", () => {
  const kernel = new Set(['nameidata', 'path', 'qstr']);
  const src = [
    '/* from fs/namei.c: */',
    'struct nameidata { struct path path; struct qstr last; };',
    'struct entry_t { char name[32]; };',
    'typedef struct nameidata nd_t;',
    'int trace_fast(struct pt_regs *ctx, struct nameidata *nd, struct path *p) {',
    '  struct nameidata local = {}; return sizeof(local) + sizeof(nd_t) + (nd != 0) + (p != 0);',
    '}',
  ].join('\n');
  const r = rewriteBcc(src, 'p.c', kernel);
  const out = r.text.split('\n');
  assert.equal(out.length, 7);
  // Only the tag the program defines is renamed: `struct path`, defined by vmlinux.h alone, stays.
  assert.equal(out[1], 'struct nameidata___bcc { struct path path; struct qstr last; };');
  assert.equal(out[2], 'struct entry_t { char name[32]; };');
  assert.equal(out[3], 'typedef struct nameidata___bcc nd_t;');
  // The probe argument's declaration (built from the tokens) names the copy; the blanked span is not edited twice.
  assert.ok(out[4]!.includes('struct nameidata___bcc * nd = (struct nameidata___bcc *)PT_REGS_PARM1(ctx);'), out[4]);
  assert.ok(out[4]!.includes('struct path * p = (struct path *)PT_REGS_PARM2(ctx);'), out[4]);
  assert.ok(out[5]!.startsWith('  struct nameidata___bcc local = {};'), out[5]);
  // A column after a renamed tag maps back to the user's.
  const col = src.split('\n')[5]!.indexOf('local') + 1;
  assert.equal(r.mapColumn(6, out[5]!.indexOf('local') + 1), col);
  // Without the kernel's tags (no vmlinux.h), nothing is renamed.
  assert.equal(rewriteBcc(src, 'p.c').text.split('\n')[1], src.split('\n')[1]);
});

test("a BCC tool's private struct copy and the kernel macros BTF sizes (DNAME_INLINE_LEN, DISK_NAME_LEN) compile", async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  // The running kernel's values, read here from its BTF: dentry's inline name (in union shortname_store
  // since 6.14) and gendisk's disk_name.
  const btf = parseBtf(readFileSync(KERNEL_BTF));
  const members = (name: string) => btf.byName(name, BtfKind.STRUCT)?.members ?? [];
  const lengthOf = (type: number) => btf.resolve(type).array!.nelems;
  const dentry = members('dentry');
  const short = dentry.find((m) => m.name === 'd_shortname');
  const dname = short
    ? lengthOf(btf.resolve(short.type).members.find((m) => m.name === 'string')!.type)
    : lengthOf(dentry.find((m) => m.name === 'd_iname')!.type);
  const disk = lengthOf(members('gendisk').find((m) => m.name === 'disk_name')!.type);
  const src = `#include <uapi/linux/ptrace.h>
#include <linux/fs.h>
/* from fs/namei.c: */
struct nameidata {
  struct path path;
  struct qstr last;
};
_Static_assert(DNAME_INLINE_LEN == ${dname}, "DNAME_INLINE_LEN");
_Static_assert(DISK_NAME_LEN == ${disk}, "DISK_NAME_LEN");
struct data_t { char name[DNAME_INLINE_LEN]; char disk[DISK_NAME_LEN]; };
BPF_PERF_OUTPUT(events);
int trace_fast(struct pt_regs *ctx, struct nameidata *nd, struct path *path) {
  struct data_t data = {};
  const unsigned char *name = 0;
  bpf_probe_read_kernel(&name, sizeof(name), &nd->last.name);
  bpf_probe_read_kernel_str(&data.name, sizeof(data.name), name);
  events.perf_submit(ctx, &data, sizeof(data));
  return path != 0;
}
`;
  const r = await compileC(src, { dialect: 'bcc', filename: 'dcsnoop.c' });
  assert.deepEqual(
    r.spec.programs.map((p) => p.name),
    ['trace_fast'],
  );
  assert.deepEqual(r.warnings, []);
});
