/**
 * The pure parts of tracing: trace_pipe lines, tracepoint formats as C structs, refusals for kprobes and
 * fentry (message and exit status), ELF symbol → file offset, address formatting, BTF event decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseTraceLine,
  tracingRefusal,
  tracepointStruct,
  formatAddress,
  findFunction,
} from '../../src/trace/index.js';
import { parseTracepointFormat, kprobesUnavailable } from '../../src/kernel/attach/index.js';
import { tcpRetransFlags, tcpRetransSource } from '../../src/trace/tools/tcpretrans-program.js';

test('trace_pipe lines: task with dashes and spaces, pid, cpu, flags, time, message', () => {
  assert.deepEqual(parseTraceLine('           <...>-1234    [001] d..31  5678.123456: bpf_trace_printk: hello world'), {
    task: '<...>',
    pid: 1234,
    cpu: 1,
    flags: 'd..31',
    time: 5678.123456,
    event: 'bpf_trace_printk',
    message: 'hello world',
  });
  const odd = parseTraceLine(' kworker/u8:2-my-x-77 [003] ..... 12.000001: bpf_trace_printk: a: b');
  assert.equal(odd?.task, 'kworker/u8:2-my-x');
  assert.equal(odd?.pid, 77);
  assert.equal(odd?.message, 'a: b');
  assert.equal(parseTraceLine('CPU:3 [LOST 12 EVENTS]'), undefined);
});

test('a tracepoint format becomes a packed struct with its offsets', () => {
  const fields = parseTracepointFormat(`name: x
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;
`);
  assert.deepEqual(
    fields.map((f) => [f.name, f.offset, f.size, f.arrayLength]),
    [
      ['common_type', 0, 2, 0],
      ['common_pid', 4, 4, 0],
      ['skaddr', 8, 8, 0],
      ['saddr', 32, 4, 4],
    ],
  );
  assert.equal(
    tracepointStruct('tp', fields),
    'struct tp {\n\t__u16 common_type;\n\t__u8 __pad0[2];\n\t__s32 common_pid;\n\t__u64 skaddr;\n\t__u8 __pad1[16];\n\t__u8 saddr[4];\n} __attribute__((packed));\n',
  );
});

test('kprobes and fentry: one-line refusals with exit 3', () => {
  const k = kprobesUnavailable('tcp_v4_connect');
  assert.equal(k.message, 'kprobe on tcp_v4_connect: kprobes not available (CONFIG_KPROBES)');
  assert.equal(k.exitCode, 3);
  const f = tracingRefusal('fentry/tcp_connect', 'integrity');
  assert.equal(f?.message, "fentry on tcp_connect: refused by the kernel's lockdown (integrity)");
  assert.equal(f?.exitCode, 3);
  assert.equal(tracingRefusal('fexit.s/x', 'confidentiality')?.exitCode, 3);
  assert.equal(tracingRefusal('tracepoint/sock/inet_sock_set_state', 'integrity'), undefined);
  assert.equal(tracingRefusal('fentry/tcp_connect', 'none'), undefined, 'without lockdown the loader takes it');
});

test('addresses: dotted quads, RFC 5952 IPv6, v4-mapped', () => {
  assert.equal(formatAddress(Uint8Array.from([127, 0, 0, 1]), 4), '127.0.0.1');
  const v6 = new Uint8Array(16);
  v6[15] = 1;
  assert.equal(formatAddress(v6, 6), '::1');
  const doc = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.equal(formatAddress(doc, 6), '2001:db8::1:0:0:1');
  const mapped = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2]);
  assert.equal(formatAddress(mapped, 6), '::ffff:10.0.0.2');
});

test('findFunction: not ELF and stripped binaries are one-line input errors naming the file', () => {
  assert.throws(
    () => findFunction(new Uint8Array(100), 'main', 'x.bin'),
    /^Error: x\.bin: not an ELF file$|x\.bin: not an ELF file/,
  );
  // A minimal ELF64 header with no sections: nothing to find the symbol in.
  const elf = new Uint8Array(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  assert.throws(
    () => findFunction(elf, 'main', 'stripped'),
    (e: Error & { exitCode?: number }) =>
      e.message === "stripped: no symbol table (stripped binary?): cannot find 'main'" && e.exitCode === 2,
  );
});

test('tcpretrans runs on the raw tracepoint, and reads err only where the kernel passes it', () => {
  // A perf tracepoint program is skipped whenever another tracer's program runs on the CPU a retransmit
  // timer interrupts (bpf_prog_active); a raw tracepoint's guard is its own. Back on tcp:tcp_retransmit_skb,
  // tcpretrans lost events whenever another tracer was busy.
  const src = tcpRetransSource();
  assert.match(src, /SEC\("raw_tp\/tcp_retransmit_skb"\)/);
  assert.doesNotMatch(src, /SEC\("(tracepoint|tp|kprobe)\//);
  const offsets = { family: 16, state: 18, num: 14, dport: 12, saddr: 4, daddr: 0, v6: { saddr: 72, daddr: 56 } };
  assert.ok(tcpRetransFlags(offsets, true).includes('-DHAS_ERR=1'));
  assert.ok(!tcpRetransFlags(offsets, false).some((f) => f.startsWith('-DHAS_ERR')));
  assert.ok(!tcpRetransFlags({ ...offsets, v6: undefined }, true).some((f) => f.startsWith('-DOFF_V6')));
});
