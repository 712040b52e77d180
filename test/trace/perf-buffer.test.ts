/**
 * The perf buffer (perf event array) consumer live: samples from bpf_perf_event_output on a syscall
 * tracepoint, counted on both sides. With rings large enough every sample arrives; with one page per
 * CPU and a burst the kernel drops samples, and received + the PERF_RECORD_LOST counts the consumer
 * reports equals what the program emitted — loss is reported, never hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BPF, structDecoder } from '../../src/trace/index.js';
import { liveCount } from '../../src/kernel/index.js';
import { needs } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';
import { pollBlocking } from './blocking-wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-perfbuf-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A C program that waits for a line on stdin, then calls getppid() `argv[1]` times. */
const TARGET = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]); char line[8];
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (long i = 0; i < n; i++) getppid();
  return 0;
}
`;

const PROGRAM = `#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 3); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct event { __u64 seq; __u32 pid; char comm[16]; };
BPF_EVENT_TYPE(event);
SEC("tracepoint/syscalls/sys_enter_getppid") int on_getppid(void *ctx) {
  __u32 k = 2; __u64 *target = bpf_map_lookup_elem(&counts, &k);
  if (!target || *target != bpf_get_current_pid_tgid() >> 32) return 0;
  k = 0; __u64 *seq = bpf_map_lookup_elem(&counts, &k);
  if (!seq) return 0;
  struct event e = { .seq = __sync_fetch_and_add(seq, 1), .pid = bpf_get_current_pid_tgid() >> 32 };
  bpf_get_current_comm(e.comm, sizeof(e.comm));
  if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e))) {
    k = 1; __u64 *failed = bpf_map_lookup_elem(&counts, &k); if (failed) __sync_fetch_and_add(failed, 1);
  }
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

function u64At(bpf: BPF, k: number): bigint {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, k, true);
  const v = bpf.collection.map('counts').lookup(key)!;
  return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
}

/** Run the getppid loop `calls` times on CPU 0, counted by the program for that pid only. */
async function burst(bpf: BPF, bin: string, calls: number): Promise<void> {
  const child = spawn('taskset', ['-c', '0', bin, String(calls)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const pid = new Uint8Array(8);
  new DataView(pid.buffer).setBigUint64(0, BigInt(child.pid!), true);
  bpf.collection.map('counts').update(new Uint8Array([2, 0, 0, 0]), pid);
  child.stdin.end('go\n');
  assert.equal(await exited, 0);
}

async function run(
  calls: number,
  pageCount: number,
): Promise<{
  received: number;
  lost: number;
  produced: bigint;
  failed: bigint;
  pids: Set<number>;
  comms: Set<string>;
}> {
  const bin = buildTarget();
  const bpf = await BPF.fromC(PROGRAM, { filename: 'perfbuf.c' });
  try {
    bpf.attachTracepoint('syscalls', 'sys_enter_getppid', 'on_getppid');
    const reader = bpf.openPerfBuffer('events', pageCount);
    const decode = structDecoder(bpf.btf, 'event');
    let received = 0;
    const pids = new Set<number>();
    const comms = new Set<string>();
    let going = true;
    const loop = (async () => {
      while (going) {
        const n = reader.drain((s) => {
          const e = decode(s) as { pid: number; comm: string };
          received++;
          pids.add(e.pid);
          comms.add(e.comm);
        });
        if (n === 0) await reader.wait(50);
      }
    })();
    // Pinned to CPU 0: the kernel reports a full ring's drops (PERF_RECORD_LOST) just before the next
    // sample that fits on the same CPU, so one more call there after the burst flushes the last count.
    await burst(bpf, bin, calls);
    await waitUntil('the burst drained', () => reader.pending() === 0);
    await burst(bpf, bin, 1);
    const produced = u64At(bpf, 0);
    const failed = u64At(bpf, 1);
    await waitUntil('every sample read or reported lost', () => BigInt(received + reader.lost) >= produced);
    going = false;
    await loop;
    return { received, lost: reader.lost, produced, failed, pids, comms };
  } finally {
    bpf.close();
  }
}

function buildTarget(): string {
  const src = path.join(dir, 'target.c');
  const bin = path.join(dir, 'getppid-loop');
  writeFileSync(src, TARGET);
  execFileSync('clang', ['-O1', '-o', bin, src]);
  return bin;
}

test('perf buffer: every sample arrives, decoded from BTF, when the rings are large enough', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const before = liveCount();
  const r = await run(20_000, 256);
  assert.equal(r.produced, 20_001n);
  assert.equal(r.lost, 0);
  assert.equal(r.failed, 0n);
  assert.equal(r.received, 20_001);
  assert.equal(r.pids.size, 2, 'the burst and the flush call');
  assert.deepEqual([...r.comms], ['getppid-loop']);
  assert.equal(liveCount(), before, 'closing the BPF released every perf event and ring');
});

test('perf buffer of one page per CPU: the kernel drops, and received + lost = produced', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const r = await run(200_000, 1);
  assert.equal(r.produced, 200_001n);
  assert.ok(r.lost > 0, 'one page per CPU cannot hold a burst of 200k samples');
  // bpf_perf_event_output fails (-ENOSPC) exactly when the kernel writes a LOST record instead.
  assert.equal(BigInt(r.lost), r.failed);
  assert.equal(r.received + r.lost, 200_001);
});

test('perf buffer through the BCC-style callback: samples decoded, the comm and pid of the caller', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const bin = buildTarget();
  const bpf = await BPF.fromC(PROGRAM, { filename: 'perfbuf.c' });
  try {
    bpf.attachTracepoint('syscalls', 'sys_enter_getppid', 'on_getppid');
    const seen: { pid: number; comm: string; seq: bigint }[] = [];
    let lost = 0;
    const stop = bpf.onPerfBuffer('events', (ev) => seen.push(ev as (typeof seen)[0]), {
      struct: 'event',
      pageCount: 64,
      onLost: (n) => (lost += n),
    });
    await burst(bpf, bin, 1000);
    await waitUntil('1000 samples', () => seen.length + lost >= 1000);
    await stop();
    assert.equal(seen.length, 1000);
    assert.equal(lost, 0);
    assert.deepEqual(
      seen.map((e) => e.seq),
      Array.from({ length: 1000 }, (_, i) => BigInt(i)),
    );
    assert.ok(seen.every((e) => e.comm === 'getppid-loop'));
  } finally {
    bpf.close();
  }
});

test('perf buffer: the samples written before the signal aborts are all delivered', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  // As for the ring buffer: an abort handled before the reader's wake-up must not drop what is written.
  const bin = buildTarget();
  const bpf = await BPF.fromC(PROGRAM, { filename: 'perfbuf.c' });
  try {
    bpf.attachTracepoint('syscalls', 'sys_enter_getppid', 'on_getppid');
    const ac = new AbortController();
    const it = bpf.perfBuffer('events', { signal: ac.signal, pageCount: 64 })[Symbol.asyncIterator]();
    const first = it.next(); // the rings open, hold nothing, and the reader waits
    const child = spawn('taskset', ['-c', '0', bin, '100'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const pid = new Uint8Array(8);
    new DataView(pid.buffer).setBigUint64(0, BigInt(child.pid!), true);
    bpf.collection.map('counts').update(new Uint8Array([2, 0, 0, 0]), pid);
    child.stdin.end('go\n');
    // Blocking this thread until all are written keeps the reader from running before the abort.
    pollBlocking('100 samples written', () => u64At(bpf, 0) >= 100n);
    ac.abort();
    assert.equal(await exited, 0);
    let got = 0;
    for (let r = await first; !r.done; r = await it.next()) got++;
    assert.equal(got, 100);
  } finally {
    bpf.close();
  }
});

test('perf buffer: a map that is not a perf event array, or a page count that is not a power of two, is one line', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const bpf = await BPF.fromC(PROGRAM, { filename: 'perfbuf.c' });
  try {
    assert.throws(() => bpf.openPerfBuffer('counts'), /map counts is not a perf event array/);
    assert.throws(() => bpf.openPerfBuffer('events', 3), /page count 3 is not a power of two/);
  } finally {
    bpf.close();
  }
});
