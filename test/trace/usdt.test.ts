/**
 * USDT probes live: a C program built here with systemtap's sys/sdt.h (a probe with a semaphore and
 * arguments in a register, a constant and memory) is parsed for its .note.stapsdt notes; a program
 * attached to the probe counts every hit exactly and reads the arguments through bpf_usdt_arg; the
 * semaphore is raised by the kernel while attached (the target only fires the probe when it is set, so
 * an exact count proves it). The argument decoder is checked on the forms compilers emit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BPF, parseUsdtArgs, readUsdtProbes } from '../../src/trace/index.js';
import { needs } from '../support/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-usdt-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('USDT argument specs: registers, constants, memory at register + offset, sizes and signs', () => {
  assert.deepEqual(parseUsdtArgs('-4@%edi 8@-8(%rbp) 4@$5 2@(%rax) -8@$-3', 'p:n'), [
    { size: 4, signed: true, kind: 'reg', value: 0n, regOffset: 112 },
    { size: 8, signed: false, kind: 'deref', value: -8n, regOffset: 32 },
    { size: 4, signed: false, kind: 'const', value: 5n, regOffset: 0 },
    { size: 2, signed: false, kind: 'deref', value: 0n, regOffset: 80 },
    { size: 8, signed: true, kind: 'const', value: -3n, regOffset: 0 },
  ]);
  assert.throws(() => parseUsdtArgs('4@%xmm0', 'p:n'), /USDT p:n: argument '4@%xmm0': unknown register %xmm0/);
  assert.throws(() => parseUsdtArgs('8@8(%rax,%rbx,2)', 'p:n'), /not this form/);
});

const TARGET = `#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
unsigned short bpfkit_tick_semaphore __attribute__((section(".probes"))) = 0;
static volatile long sink;
int main(int argc, char **argv) {
  long n = atol(argv[1]); char line[8];
  if (!fgets(line, sizeof line, stdin)) return 1;
  long local = -7;
  for (long i = 0; i < n; i++) {
    /* Only while a tracer has raised the semaphore: the kernel does it for a uprobe with a ref_ctr_offset. */
    if (bpfkit_tick_semaphore) { sink = i; STAP_PROBE3(bpfkit, tick, i, 42, sink); }
  }
  (void)local;
  return 0;
}
`;

const PROGRAM = `#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 5); __type(key, __u32); __type(value, __s64); } out SEC(".maps");
static __always_inline void add(__u32 k, __s64 v) { __s64 *p = bpf_map_lookup_elem(&out, &k); if (p) __sync_fetch_and_add(p, v); }
SEC("usdt/manual") int on_tick(void *ctx) {
  long a = 0, b = 0, c = 0;
  add(0, 1);
  if (bpf_usdt_arg(ctx, 0, &a) == 0) add(1, a);
  if (bpf_usdt_arg(ctx, 1, &b) == 0) add(2, b);
  if (bpf_usdt_arg(ctx, 2, &c) == 0) add(3, c);
  add(4, bpf_usdt_arg_cnt(ctx));
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a USDT probe with a semaphore: every hit counted, its arguments read', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const src = path.join(dir, 'usdt-target.c');
  const bin = path.join(dir, 'usdt-target');
  writeFileSync(src, TARGET);
  execFileSync('clang', ['-O1', '-o', bin, src]);
  const probes = readUsdtProbes(readFileSync(bin), bin);
  const tick = probes.filter((p) => p.provider === 'bpfkit' && p.name === 'tick');
  assert.equal(tick.length, 1);
  assert.ok(tick[0]!.semaphoreOffset > 0, 'the probe names its semaphore');
  assert.equal(parseUsdtArgs(tick[0]!.args, 'bpfkit:tick').length, 3);

  const n = 5000;
  const bpf = await BPF.fromC(PROGRAM, { filename: 'usdt.bpf.c' });
  try {
    bpf.attachUsdt({ binary: bin, provider: 'bpfkit', name: 'tick' }, 'on_tick');
    const child = spawn(bin, [String(n)], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.stdin.end('go\n');
    assert.equal(await exited, 0);
    const at = (k: number) => {
      const v = bpf.collection.map('out').lookup(new Uint8Array([k, 0, 0, 0]))!;
      return new DataView(v.buffer, v.byteOffset).getBigInt64(0, true);
    };
    const sum = BigInt((n * (n - 1)) / 2);
    assert.equal(at(0), BigInt(n), 'every hit, which only happens with the semaphore raised');
    assert.equal(at(1), sum, 'argument 0: the loop counter');
    assert.equal(at(2), 42n * BigInt(n), 'argument 1: a constant');
    assert.equal(at(3), sum, 'argument 2: a volatile global read from memory');
    assert.equal(at(4), 3n * BigInt(n), 'three arguments');
  } finally {
    bpf.close();
  }
});

test('a USDT probe that does not exist: one line naming the binary, exit 2', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const bpf = await BPF.fromC(PROGRAM, { filename: 'usdt.bpf.c' });
  try {
    assert.throws(
      () => bpf.attachUsdt({ binary: process.execPath, provider: 'nope', name: 'none' }, 'on_tick'),
      (e: Error & { exitCode?: number }) => /no USDT probe nope:none/.test(e.message) && e.exitCode === 2,
    );
  } finally {
    bpf.close();
  }
});
