/**
 * BPF.fromBcc live: BCC-style C loaded and attached. TRACEPOINT_PROBE(syscalls, sys_enter_openat) counts
 * with BPF_HASH + increment and sends events with BPF_PERF_OUTPUT + perf_submit (read back through
 * bpf.perfBuffer); BPF_ARRAY + increment; a socket filter typed with `types` attached to a raw socket;
 * a function given no type is refused by name. The openat calls are this process's own, marked by a
 * mode nothing else passes, so the counts are exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BPF } from '../../src/trace/index.js';
import { needs } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-bcc-live-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** openat's mode argument (passed with O_CREAT; the file exists already) marks the test's calls. */
const MARK = 0o1234;

const PROGRAM = `#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
struct data_t { u32 pid; u32 mode; char comm[TASK_COMM_LEN]; char path[64]; };
BPF_HASH(counts, u32);
BPF_ARRAY(totals, u64, 2);
BPF_PERF_OUTPUT(events);
BPF_EVENT_TYPE(data_t);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
  u32 pid = bpf_get_current_pid_tgid() >> 32;
  if (args->mode != MARK || pid != TARGET) return 0;
  counts.increment(pid);
  totals.increment(1, 10);
  struct data_t d = {};
  d.pid = pid;
  d.mode = args->mode;
  bpf_get_current_comm(&d.comm, sizeof(d.comm));
  bpf_probe_read_user_str(&d.path, sizeof(d.path), args->filename);
  events.perf_submit(args, &d, sizeof(d));
  return 0;
}

int untyped_helper(void *ctx) { return 0; }
`;

test('TRACEPOINT_PROBE + BPF_HASH.increment + BPF_ARRAY.increment + perf_submit, live and exact', async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  const bpf = await BPF.fromBcc(PROGRAM, {
    filename: 'opensnoop.c',
    cflags: [`-DMARK=${MARK}`, `-DTARGET=${process.pid}`],
  });
  try {
    assert.deepEqual(
      bpf.spec.programs.map((p) => [p.name, p.section]),
      [
        ['tracepoint__syscalls__sys_enter_openat', 'tracepoint/syscalls/sys_enter_openat'],
        ['untyped_helper', 'bcc/untyped_helper'],
      ],
    );
    // The function nobody typed was not loaded, and saying its name says why.
    assert.throws(
      () => bpf.programFd('untyped_helper'),
      /program untyped_helper has no type: BCC loads it with load_func/,
    );
    const events: { pid: number; mode: number; path: string }[] = [];
    const stop = bpf.onPerfBuffer('events', (ev) => events.push(ev as never), { struct: 'data_t' });
    // attachAll attaches by section: the TRACEPOINT_PROBE's; the untyped function is not loaded, so it is skipped.
    bpf.attachTracepoint('syscalls', 'sys_enter_openat', 'tracepoint__syscalls__sys_enter_openat');
    const N = 7;
    const file = path.join(dir, 'opened-by-the-test');
    closeSync(openSync(file, 'w'));
    for (let i = 0; i < N; i++) closeSync(openSync(file, constants.O_RDONLY | constants.O_CREAT, MARK));
    const key = new Uint8Array(new Uint32Array([process.pid]).buffer);
    const count = bpf.table('counts').lookup(key);
    assert.ok(count, 'increment inserted the missing key (BPF_HASH)');
    assert.equal(new DataView(count.buffer, count.byteOffset).getBigUint64(0, true), BigInt(N));
    const total = bpf.table('totals').lookup(new Uint8Array(new Uint32Array([1]).buffer))!;
    assert.equal(new DataView(total.buffer, total.byteOffset).getBigUint64(0, true), BigInt(N * 10));
    await waitUntil(`${N} perf samples`, () => events.length >= N);
    await stop();
    assert.equal(events.length, N);
    for (const ev of events) {
      assert.equal(ev.pid, process.pid);
      assert.equal(ev.mode, MARK);
      assert.equal(ev.path, file.slice(0, 63));
    }
  } finally {
    bpf.close();
  }
});

test('a BCC socket filter typed at load (types: { f: BPF.SOCKET_FILTER }) attaches to a raw socket', async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  const src = `BPF_ARRAY(seen, u64, 1);
int drop_all(struct __sk_buff *skb) { seen.atomic_increment(0); return 0; }
`;
  await assert.rejects(BPF.fromBcc(src, { types: { other: BPF.SOCKET_FILTER } }), /types: no program function other/);
  const bpf = await BPF.fromBcc(src, { types: { drop_all: BPF.SOCKET_FILTER } });
  try {
    assert.equal(bpf.collection.program('drop_all').type, 1);
    const sock = bpf.attachRawSocket('drop_all', 'lo');
    assert.equal(sock.readAvailable().length, 0, 'the filter returns 0: nothing is queued');
  } finally {
    bpf.close();
  }
});

test('BPF_PROG_ARRAY + call, filled from userspace as BCC does (table(name).update(i, programFd)), live on a raw socket', async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  const bpf = await BPF.fromBcc(
    `BPF_PROG_ARRAY(parser, 4);
BPF_ARRAY(hits, u64, 2);
int entry(struct __sk_buff *skb) { parser.call(skb, 1); hits.atomic_increment(0); return 0; }
int second(struct __sk_buff *skb) { hits.atomic_increment(1); return 0; }
`,
    { types: { entry: BPF.SOCKET_FILTER, second: BPF.SOCKET_FILTER } },
  );
  const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const hits = (i: number) => {
    const v = bpf.table('hits').lookup(u32(i))!;
    return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
  };
  try {
    bpf.table('parser').update(u32(1), u32(bpf.programFd('second'))); // parser[c_int(1)] = c_int(second.fd)
    bpf.attachRawSocket('entry', 'lo');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      sock.send('x', 9, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
    sock.close();
    await waitUntil('the tail-called program to count a packet', () => hits(1) > 0n);
    assert.equal(hits(0), 0n, 'a tail call that succeeds never returns to the caller');
  } finally {
    bpf.close();
  }
});

test('RAW_TRACEPOINT_PROBE(sys_enter) counts this process openat calls exactly; kprobe__ says kprobes are missing', async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  if (process.arch !== 'x64') return t.skip('syscall number and pt_regs layout written for x86-64');
  const bpf = await BPF.fromBcc(
    `#include <uapi/linux/ptrace.h>
BPF_HASH(opens, u32);
RAW_TRACEPOINT_PROBE(sys_enter) {
  if (ctx->args[1] != 257 /* openat */) return 0;
  struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
  u64 mode = 0;
  bpf_probe_read_kernel(&mode, sizeof(mode), &regs->r10);   /* a syscall's 4th argument */
  if (mode != MARK) return 0;
  opens.increment((u32)(bpf_get_current_pid_tgid() >> 32));
  return 0;
}
`,
    { cflags: [`-DMARK=${MARK}`] },
  );
  try {
    bpf.attachAll();
    const file = path.join(dir, 'opened-by-raw-tp');
    for (let i = 0; i < 4; i++) closeSync(openSync(file, constants.O_RDONLY | constants.O_CREAT, MARK));
    const v = bpf.table('opens').lookup(new Uint8Array(new Uint32Array([process.pid]).buffer))!;
    assert.equal(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 4n);
  } finally {
    bpf.close();
  }
  const kp = await BPF.fromBcc('int kprobe__do_sys_openat2(struct pt_regs *ctx) { return 0; }\n');
  try {
    assert.equal(kp.spec.programs[0]!.section, 'kprobe/do_sys_openat2');
    if (existsSync('/sys/bus/event_source/devices/kprobe')) return; // a kernel with kprobes attaches it
    assert.throws(
      () => kp.attachAll(),
      (err: Error) => /kprobes not available/.test(err.message) && !err.message.includes('\n'),
    );
  } finally {
    kp.close();
  }
});

test('TRACEPOINT_PROBE(sched, sched_process_exec): a __data_loc field through TP_DATA_LOC_READ, events via ringbuf_output', async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  const bpf = await BPF.fromBcc(`struct exec_t { u32 pid; u32 old_pid; char filename[64]; };
BPF_EVENT_TYPE(exec_t);
BPF_RINGBUF_OUTPUT(execs, 16);
TRACEPOINT_PROBE(sched, sched_process_exec) {
  struct exec_t e = {};
  e.pid = args->pid;
  e.old_pid = args->old_pid;
  TP_DATA_LOC_READ_CONST(e.filename, filename, sizeof(e.filename) - 1);
  execs.ringbuf_output(&e, sizeof(e), 0);
  return 0;
}
`);
  try {
    bpf.attachAll();
    const seen: { pid: number; old_pid: number; filename: string }[] = [];
    const stop = bpf.onRingbuf('execs', (ev) => seen.push(ev as never), { struct: 'exec_t' });
    const child = spawn('/bin/true');
    await new Promise((resolve) => child.once('exit', resolve));
    await waitUntil('the child exec event', () => seen.some((e) => e.pid === child.pid));
    await stop();
    const mine = seen.filter((e) => e.pid === child.pid);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.old_pid, child.pid);
    assert.equal(mine[0]!.filename, '/bin/true');
  } finally {
    bpf.close();
  }
});

test("the seed's flow: a BCC socket filter on a raw socket passes exactly the packets it returns -1 for", async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  // Keeps UDP/IPv4 datagrams to PORT whose payload starts with 'K'; drops everything else (return 0).
  const PORT = 20000 + (process.pid % 20000);
  const bpf = await BPF.fromBcc(
    `#include <linux/ip.h>
#include <linux/udp.h>
BPF_HASH(kept, u32, u64, 4);
int udp_filter(struct __sk_buff *skb) {
  if (load_half(skb, 12) != ETH_P_IP) return 0;
  if (load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)) != IPPROTO_UDP) return 0;
  u32 ihl = (load_byte(skb, ETH_HLEN) & 0xf) << 2;
  if (load_half(skb, ETH_HLEN + ihl + offsetof(struct udphdr, dest)) != PORT) return 0;
  if (load_byte(skb, ETH_HLEN + ihl + sizeof(struct udphdr)) != 'K') return 0;
  u32 k = 0;
  kept.increment(k);
  return -1;
}
`,
    { types: { udp_filter: BPF.SOCKET_FILTER }, cflags: [`-DPORT=${PORT}`] },
  );
  try {
    const sock = bpf.attachRawSocket('udp_filter', 'lo');
    const udp = dgram.createSocket('udp4');
    const send = (msg: string) =>
      new Promise<void>((resolve, reject) =>
        udp.send(msg, PORT, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    await send('drop me');
    await send('Keep me');
    await send('drop me too');
    await send('Keep me last'); // lo is in order: once this one is through, the one before it is too
    udp.close();
    const kept = () => {
      const v = bpf.table('kept').lookup(new Uint8Array(4));
      return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : 0n;
    };
    // On lo a packet socket sees every datagram twice, going out (PACKET_OUTGOING) and coming in (PACKET_HOST).
    const got: { payload: string; pktType: number }[] = [];
    await waitUntil('both kept datagrams, both ways', () => {
      for (const p of sock.readAvailable())
        got.push({ payload: Buffer.from(p.data.subarray(14 + 20 + 8)).toString(), pktType: p.pktType });
      return got.length >= 4;
    });
    assert.equal(kept(), 4n);
    assert.deepEqual(
      got.map((g) => `${g.payload}/${g.pktType}`).sort(),
      ['Keep me last/0', 'Keep me last/4', 'Keep me/0', 'Keep me/4'],
      'the dropped datagrams never reached the socket',
    );
  } finally {
    bpf.close();
  }
});

/** A C program that waits for a line on stdin, then calls probe_me(a, b, s) `argv[1]` times. */
const ARGS_TARGET = `#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long probe_me(int a, long b, const char *s) {
  __asm__ volatile("" ::: "memory");
  return a + b + s[0];
}
const char *words[2] = {"even", "odd"};
volatile char sink;
int main(int argc, char **argv) {
  long n = atol(argv[1]), acc = 0; char line[8];
  /* A probe may not fault a page in: the strings' pages are made present before the probe reads them. */
  for (int w = 0; w < 2; w++) for (const char *c = words[w]; *c; c++) sink = *c;
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (long i = 0; i < n; i++) acc += probe_me(-1 - (int)(i % 3), 1000000000000L + i, words[i % 2]);
  return acc != 0 ? 0 : 2;
}
`;

test("BCC's extra probe arguments on a uprobe: int, long and a user string read from the registers, exactly", async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return t.skip('pt_regs argument registers: x86-64 and arm64');
  const src = path.join(dir, 'args-target.c');
  const bin = path.join(dir, 'args-target');
  writeFileSync(src, ARGS_TARGET);
  execFileSync('clang', ['-O1', '-o', bin, src]);
  const bpf = await BPF.fromBcc(
    `BPF_HASH(sums, s32, u64);
BPF_HASH(words, u32, u64);
int on_probe(struct pt_regs *ctx, int a, long b, const char *s) {
  u64 *sum = sums.lookup_or_try_init(&a, &(u64){0});
  if (sum) __sync_fetch_and_add(sum, b);
  char w[8] = {};
  bpf_probe_read_user_str(w, sizeof(w), s);
  u32 k = w[0] == 'o' && w[1] == 'd' && w[2] == 'd' && w[3] == 0 ? 1 : w[0] == 'e' && w[4] == 0 ? 2 : 0;
  words.increment(k);
  return 0;
}
`,
    { filename: 'args.c', types: { on_probe: BPF.KPROBE } },
  );
  try {
    bpf.attachUprobe({ binary: bin, symbol: 'probe_me' }, 'on_probe');
    const n = 3000;
    const child = spawn(bin, [String(n)], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.stdin.end('go\n');
    assert.equal(await exited, 0);
    const u64At = (table: string, key: Uint8Array): bigint => {
      const v = bpf.table(table).lookup(key);
      return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : 0n;
    };
    for (let r = 0; r < 3; r++) {
      let want = 0n;
      for (let i = r; i < n; i += 3) want += 1000000000000n + BigInt(i);
      assert.equal(u64At('sums', new Uint8Array(new Int32Array([-1 - r]).buffer)), want, `sum for a = ${-1 - r}`);
    }
    const u32 = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
    assert.equal(u64At('words', u32(1)), BigInt(n / 2), '"odd" read from user memory');
    assert.equal(u64At('words', u32(2)), BigInt(n / 2), '"even"');
    assert.equal(u64At('words', u32(0)), 0n);
  } finally {
    bpf.close();
  }
});

test("a syscall's entry (syscall__NAME) reads its extra arguments from the registers its wrapper saved: the kernel loads it", async (t) => {
  if (!needs(t, { tools: ['clang'], root: true })) return;
  const bpf = await BPF.fromBcc(
    `BPF_HASH(firsts, u32, u64);
int syscall__execve(struct pt_regs *ctx, const char __user *filename, const char __user *const __user *argv) {
  char c = 0;
  bpf_probe_read_user(&c, 1, filename);
  u32 k = c;
  firsts.increment(k);
  return argv != 0;
}
int kprobe__tcp_v4_connect(struct pt_regs *ctx, struct sock *sk) {
  u16 dport = 0;
  bpf_probe_read_kernel(&dport, sizeof(dport), &sk->__sk_common.skc_dport);
  u32 k = dport;
  firsts.increment(k);
  return 0;
}
`,
    { filename: 'execsnoop.c', types: { syscall__execve: BPF.KPROBE } },
  );
  try {
    // Loaded means the kernel's verifier accepted both (this kernel has no kprobes to attach them to).
    assert.ok(bpf.programFd('syscall__execve') > 0);
    assert.ok(bpf.programFd('kprobe__tcp_v4_connect') > 0);
  } finally {
    bpf.close();
  }
});
