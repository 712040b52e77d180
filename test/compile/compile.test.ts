/**
 * compileC: objects from C through clang, the cache (a hit costs no clang run; an edited include misses),
 * diagnostics at the user's file:line:column, the shipped header's helper numbers against the running
 * kernel's `enum bpf_func_id`, and `bpfkit cc` (exit 2 on bad C, exit 3 without clang).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileC, CompileError, HELPERS, parseDiagnostics } from '../../src/compile/index.js';
import { parseBtf, BtfKind } from '../../src/btf/index.js';
import { parseObject } from '../../src/elf/index.js';
import { needs } from '../support/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-compile-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR = path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PROG = `#include <bpf/bpf_helpers.h>
#include "limits.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, LIMIT); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int count(void *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('compileC builds an object, answers the second time from the cache, and misses after an include changes', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const src = path.join(dir, 'prog.c');
  writeFileSync(src, PROG);
  writeFileSync(path.join(dir, 'limits.h'), '#define LIMIT 4\n');
  const first = await compileC({ file: src });
  assert.equal(first.cached, false);
  assert.deepEqual(
    first.spec.programs.map((p) => [p.name, p.section]),
    [['count', 'tracepoint/syscalls/sys_enter_getppid']],
  );
  assert.equal(first.spec.maps.find((m) => m.name === 'counts')?.maxEntries, 4);
  const second = await compileC({ file: src });
  assert.equal(second.cached, true);
  assert.deepEqual(Buffer.from(second.object), Buffer.from(first.object));
  writeFileSync(path.join(dir, 'limits.h'), '#define LIMIT 8\n');
  const third = await compileC({ file: src });
  assert.equal(third.cached, false, 'an edited header is a miss');
  assert.equal(third.spec.maps.find((m) => m.name === 'counts')?.maxEntries, 8);
  const defined = await compileC({ file: src }, { cflags: ['-DEXTRA=1'] });
  assert.equal(defined.cached, false, 'other flags, other object');
});

test('C that does not compile: one CompileError at the user file:line:column, exit 2', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const bad = 'int f(void) {\n  return 0;\n}\nint g(void) {\n  return y;\n}\n';
  await assert.rejects(compileC(bad, { filename: 'mine.c' }), (err: unknown) => {
    assert.ok(err instanceof CompileError);
    assert.equal(err.exitCode, 2);
    assert.equal(err.message, "mine.c:5:10: use of undeclared identifier 'y'");
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('a clang run past its time limit is stopped: one InputError naming the source, exit 2, no hang', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  // (1 ms: no clang starts, let alone compiles, that fast; a megabyte-long undeclared name is input that
  // really keeps clang 14 busy for minutes, in its spelling suggestions)
  await assert.rejects(compileC(PROG, { filename: 'slow.c', noCache: true, timeoutMs: 1 }), (err: unknown) => {
    assert.ok(!(err instanceof CompileError));
    assert.equal((err as { exitCode?: number }).exitCode, 2);
    assert.match((err as Error).message, /^slow\.c: clang did not finish within 0\.001 s and was stopped/);
    return true;
  });
});

test('a source including a device compiles without reading it forever, and is not cached', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  // clang reads /dev/zero as empty; the cache hashed every file clang read, so it read /dev/zero without end.
  const src = '#include "/dev/zero"\nint x;\n';
  const first = await compileC(src, { filename: 'dev.c' });
  const second = await compileC(src, { filename: 'dev.c' });
  assert.equal(first.cached, false);
  assert.equal(second.cached, false, 'a compile that read a device cannot be keyed by content');
});

test('parseDiagnostics reads file, line, column and severity, hiding the scratch header directory', () => {
  const d = parseDiagnostics(
    "/tmp/x/include-1/bpf_helpers.h:3:1: warning: oops\nprog.c:7:2: error: expected ';'\n  foo\n  ^\n",
    '/tmp/x/include-1',
  );
  assert.deepEqual(d, [
    { file: '<bpfkit>/bpf_helpers.h', line: 3, column: 1, severity: 'warning', message: 'oops' },
    { file: 'prog.c', line: 7, column: 2, severity: 'error', message: "expected ';'" },
  ]);
});

test("the shipped header's helper numbers are the running kernel's enum bpf_func_id", (t) => {
  const vmlinux = '/sys/kernel/btf/vmlinux';
  if (!existsSync(vmlinux)) {
    t.skip('no /sys/kernel/btf/vmlinux');
    return;
  }
  const btf = parseBtf(readFileSync(vmlinux), vmlinux);
  const ids = btf.byName('bpf_func_id', BtfKind.ENUM)!;
  const kernel = new Map(ids.members.map((m) => [m.name, m.offset]));
  for (const [name, , , id] of HELPERS) assert.equal(kernel.get(`BPF_FUNC_${name}`), id, name);
});

test('bpfkit cc: writes the object; bad C exits 2 with file:line; no clang exits 3 in one line', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const bin = path.resolve('bin/bpfkit.js');
  const src = path.join(dir, 'cc.c');
  writeFileSync(src, PROG);
  writeFileSync(path.join(dir, 'limits.h'), '#define LIMIT 2\n');
  const out = path.join(dir, 'cc.o');
  execFileSync('node', [bin, 'cc', src, '-o', out], { env: process.env });
  assert.deepEqual([...readFileSync(out).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  // --bcc: BCC's dialect, errors at the user's place too
  writeFileSync(src, 'BPF_HASH(h);\nint f(struct __sk_buff *skb) { u64 k = 0; h.increment(k); return 0; }\n');
  execFileSync('node', [bin, 'cc', '--bcc', src, '-o', out], { env: process.env });
  assert.deepEqual(
    parseObject(readFileSync(out)).programs.map((p) => [p.name, p.section]),
    [['f', 'bcc/f']],
  );
  writeFileSync(src, 'BPF_HASH(h);\nint f(void *c) { return h.size(); }\n');
  const badBcc = spawnSync('node', [bin, 'cc', '--bcc', src], { encoding: 'utf8', env: process.env });
  assert.equal(badBcc.status, 2);
  assert.match(badBcc.stderr, new RegExp(`^bpfkit cc: ${src}:2:27: 'size' is not a table method bpfkit supports`));
  writeFileSync(src, 'int f(void) { return z; }\n');
  const bad = spawnSync('node', [bin, 'cc', src], { encoding: 'utf8', env: process.env });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, `bpfkit cc: ${src}:1:22: use of undeclared identifier 'z'\n`);
  const none = spawnSync('node', [bin, 'cc', src], {
    encoding: 'utf8',
    env: { ...process.env, BPFKIT_CLANG: '/nonexistent/clang' },
  });
  assert.equal(none.status, 3);
  assert.match(none.stderr, /^bpfkit cc: compiling C needs clang 11 or newer on PATH .*\n$/);
});

test('bpf_helpers.h declares every helper: tc and XDP programs call any of them with no warning', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  // Helpers the first header left out (BCC's and libbpf's headers declare them all): an undeclared one was
  // an implicit declaration, a warning, and a call to an undefined symbol in the object.
  const src = `#include <bpf/bpf_helpers.h>
struct bpf_tunnel_key_lite { __u32 tunnel_id; __u32 remote_ipv4; };
SEC("tc") int tc_prog(struct __sk_buff *skb) {
  __u8 b = 1;
  struct bpf_tunnel_key_lite key = {};
  bpf_skb_get_tunnel_key(skb, (void *)&key, sizeof(key), 0);
  bpf_skb_store_bytes(skb, 0, &b, 1, 0);
  bpf_clone_redirect(skb, 1, 0);
  return bpf_redirect(2, 0);
}
SEC("xdp") int xdp_prog(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, 0)) return 1;
  return (int)bpf_csum_diff(0, 0, 0, 0, 0) & 3;
}
char LICENSE[] SEC("license") = "GPL";
`;
  const r = await compileC(src, { filename: 'all-helpers.c', noCache: true });
  assert.deepEqual(r.warnings, []);
  const calls = (name: string) =>
    r.spec.programs
      .find((p) => p.name === name)!
      .insns.filter((i) => i.code === 0x85)
      .map((i) => i.imm);
  // skb_get_tunnel_key 20, skb_store_bytes 9, clone_redirect 13, redirect 23; xdp_adjust_head 44, csum_diff 28.
  assert.deepEqual(calls('tc_prog'), [20, 9, 13, 23]);
  assert.deepEqual(calls('xdp_prog'), [44, 28]);
});
