/**
 * `pcap compile --ebpf`'s program in the kernel: compiled expressions, converted to eBPF, load as
 * SCHED_CLS (tc) and SOCKET_FILTER programs, and BPF_PROG_TEST_RUN gives on every test frame the value
 * the classic interpreter gives (the snapshot length or 0). tc programs see the frame from its MAC header,
 * so they are compiled for EN10MB; a socket filter's test run takes the frame too but starts the program
 * at the network header (the kernel pulls the Ethernet header), so those are compiled for RAW and
 * compared with the classic verdict on the frame past its first 14 bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, filterToEbpf } from '../../src/pcap-filter/index.js';
import { prepareClassic, runClassic } from '../../src/cbpf/index.js';
import { encodeProgram } from '../../src/isa/codec.js';
import { loadProgram } from '../../src/kernel/prog-load.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { TestRunner } from '../../src/kernel/test-run.js';
import { ProgType } from '../../src/uapi/types.js';
import { needs } from '../support/env.js';
import { ethernetFrames } from './frames.js';

const EXPRESSIONS = [
  'tcp port 80',
  'host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3',
  'tcp[tcpflags] & tcp-syn != 0',
  'ip6 and udp',
  'icmp or icmp6',
  'len > 100',
  'ip[6:2] & 0x1fff != 0',
  'vlan and tcp',
  'portrange 20-25 or ip multicast',
];

/** Run on each frame in the kernel and in the classic interpreter (on the frame past `skip` bytes). */
function kernelVerdicts(
  type: number,
  name: string,
  expr: string,
  linktype: string,
  frames: Uint8Array[],
  skip: number,
): string[] {
  const prog = compileFilter(expr, { linktype });
  const prepared = prepareClassic(prog);
  const { fd } = loadProgram({ name, type, insns: encodeProgram(filterToEbpf(prog)), license: 'GPL' });
  const runner = new TestRunner(name);
  const diffs: string[] = [];
  try {
    frames.forEach((f, i) => {
      const want = runClassic(prepared, f.subarray(skip)).retval;
      const got = runner.run(fd, { data: f }).retval;
      if (got !== want) diffs.push(`[${linktype}] ${expr} frame ${i}: kernel ${got}, classic ${want}`);
    });
  } finally {
    closeFd(fd);
  }
  return diffs;
}

test('compiled expressions as eBPF load and give the classic verdicts in the kernel (tc and socket filter)', (t) => {
  if (!needs(t, { root: true })) return;
  const eth = ethernetFrames();
  // The kernel's skb test run needs more than an Ethernet header, and takes the frame's length as len.
  const frames = eth.filter((f) => f.data.length > 14 && f.wireLen === undefined).map((f) => new Uint8Array(f.data));
  const diffs: string[] = [];
  for (const expr of EXPRESSIONS) {
    diffs.push(...kernelVerdicts(ProgType.SCHED_CLS, 'pcap_tc', expr, 'EN10MB', frames, 0));
    if (expr.startsWith('vlan')) continue; // no link layer under a socket filter's test run
    diffs.push(...kernelVerdicts(ProgType.SOCKET_FILTER, 'pcap_sock', expr, 'RAW', frames, 14));
  }
  t.diagnostic(`${EXPRESSIONS.length} expressions on ${frames.length} frames, as tc and as socket filter programs`);
  assert.deepEqual(diffs, []);
});
