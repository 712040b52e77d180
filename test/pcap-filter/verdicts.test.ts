/**
 * Verdict equality with libpcap: every expression of expressions.txt is compiled by bpfkit and by tcpdump
 * (libpcap 1.10), optimized and with the optimizer off (-O). The same expressions must be refused, and
 * for the rest bpfkit's program must keep exactly the packets libpcap's keeps on the synthetic capture
 * (frames.ts) of each link type: libpcap's program from `tcpdump -ddd` run here, and for every 8th
 * expression (and all of NULL/LOOP, where tcpdump compiles differently for files) `tcpdump -r` itself.
 * Instruction counts are reported against libpcap's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, findLinkType } from '../../src/pcap-filter/index.js';
import { compileClassicToJs, prepareClassic, runClassic, type SockFilter } from '../../src/cbpf/index.js';
import { needs, repoPath } from '../support/env.js';
import { ethernetFrames, reframe, wlanFrames, writePcap } from './frames.js';
import { geneveFrames, legacyFrames, wlanDataFrames } from './frames-extra.js';
import { tcpdumpKeeps, tcpdumpProgram } from './oracle.js';

/**
 * Where bpfkit knowingly differs, each for a stated reason (docs/pcap-filter.md, "Not supported"): it
 * refuses with a one-line error what it does not compile, rather than compile it wrong.
 */
const KNOWN_GAPS = new Map<string, string>([
  ['inbound', 'on Ethernet libpcap uses Linux ancillary loads (SKF_AD_PKTTYPE), not in capture files'],
  ['outbound', 'as inbound, on the link types without a direction field (C_HDLC, FRELAY, ATM_RFC1483, ARCNET_LINUX)'],
  ['ifindex 2', 'on Ethernet libpcap uses Linux ancillary loads (SKF_AD_IFINDEX), not in capture files'],
  ['geneve', 'not compiled on 802.11 and PFLOG, where the outer network layer is already at a variable offset'],
  ['pppoes', "on radiotap libpcap 1.10's program reads a scratch slot it never wrote"],
]);

function sections(): Array<{ linktype: string; exprs: string[] }> {
  const text = readFileSync(repoPath('test', 'pcap-filter', 'expressions.txt'), 'utf8');
  const out: Array<{ linktype: string; exprs: string[] }> = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^\[(\w+)\]$/.exec(line);
    if (m) out.push({ linktype: m[1]!, exprs: [] });
    else out[out.length - 1]!.exprs.push(line);
  }
  return out;
}

function keepsAsFile(prog: SockFilter[], packets: Array<{ data: number[]; wireLen?: number }>): number[] {
  const f = compileClassicToJs(prog, undefined, { shifts: 'libpcap', loops: true });
  const kept: number[] = [];
  packets.forEach((p, i) => {
    if (f(new Uint8Array(p.data), p.wireLen ?? p.data.length) !== 0) kept.push(i);
  });
  return kept;
}

function keeps(prog: SockFilter[], packets: Array<{ data: number[]; wireLen?: number }>): number[] {
  const prepared = prepareClassic(prog, undefined, { loops: true }); // protochain loops backward
  const kept: number[] = [];
  packets.forEach((p, i) => {
    if (runClassic(prepared, new Uint8Array(p.data), { len: p.wireLen ?? p.data.length }).retval !== 0) kept.push(i);
  });
  return kept;
}

test('bpfkit keeps exactly the packets libpcap keeps, and refuses what it refuses', (t) => {
  if (!needs(t, { tools: ['tcpdump'], long: true })) return;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-pcapfilter-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const eth = ethernetFrames();
  const failures: string[] = [];
  let valid = 0;
  let invalid = 0;
  let atOrBelow = 0;
  let mine = 0;
  let theirs = 0;
  let viaRead = 0;
  let n = 0;
  for (const { linktype, exprs } of sections()) {
    const lt = findLinkType(linktype);
    const radio = linktype === 'IEEE802_11_RADIO';
    const packets: Array<{ data: number[]; wireLen?: number }> =
      linktype === 'EN10MB'
        ? [...eth.map((f) => ({ data: f.data, wireLen: f.wireLen })), ...legacyFrames(), ...geneveFrames()]
        : linktype.startsWith('IEEE802_11')
          ? [...wlanFrames(radio), ...wlanDataFrames(radio)].map((data) => ({ data }))
          : reframe(eth, linktype).map((data) => ({ data }));
    const file = join(dir, `${linktype}.pcap`);
    writePcap(file, lt.linktype, packets);
    const fileCompiled = linktype === 'NULL' || linktype === 'LOOP';
    for (const expr of exprs) {
      n++;
      const ref = tcpdumpProgram(linktype, expr, true);
      let prog: SockFilter[] | undefined;
      let err = '';
      try {
        prog = compileFilter(expr, { linktype, savefile: false });
      } catch (e) {
        err = (e as Error).message;
      }
      if ('error' in ref) {
        invalid++;
        if (prog) failures.push(`[${linktype}] ${expr}: libpcap refuses (${ref.error}) but bpfkit compiles`);
        continue;
      }
      valid++;
      if (!prog) {
        if (!KNOWN_GAPS.has(expr)) failures.push(`[${linktype}] ${expr}: libpcap compiles but bpfkit refuses: ${err}`);
        continue;
      }
      mine += prog.length;
      theirs += ref.length;
      if (prog.length <= ref.length) atOrBelow++;
      for (const optimize of [true, false]) {
        const ours = compileFilter(expr, { linktype, optimize, savefile: true });
        const got = keeps(ours, packets);
        // What `bpfkit pcap filter` runs: libpcap's userspace rule for shifts by X >= 32 (0), as tcpdump -r.
        const gotAsFile = keepsAsFile(ours, packets);
        const checks: Array<[string, number[] | { error: string }]> = [];
        if (!fileCompiled) {
          const theirProg = optimize ? ref : tcpdumpProgram(linktype, expr, false);
          checks.push(['-ddd', 'error' in theirProg ? theirProg : keeps(theirProg, packets)]);
        }
        if (fileCompiled || n % 8 === 0) {
          viaRead++;
          checks.push(['-r', tcpdumpKeeps(file, expr, optimize)]);
        }
        for (const [how, want] of checks) {
          if (!Array.isArray(want)) {
            failures.push(`[${linktype}] ${expr}: tcpdump ${how} failed: ${want.error}`);
            continue;
          }
          const mine = how === '-r' ? gotAsFile : got;
          if (want.join() !== mine.join()) {
            const extra = mine.filter((i) => !want.includes(i));
            const missing = want.filter((i) => !mine.includes(i));
            const o = optimize ? '' : ' -O';
            failures.push(
              `[${linktype}] ${expr} (tcpdump ${how}${o}): bpfkit also keeps [${extra}], misses [${missing}]`,
            );
          }
        }
      }
    }
  }
  const pct = ((100 * atOrBelow) / Math.max(1, valid)).toFixed(1);
  t.diagnostic(
    `${valid} valid, ${invalid} invalid expressions; ${viaRead} runs checked with tcpdump -r; ${failures.length} disagreements`,
  );
  t.diagnostic(`known gaps (refused by bpfkit, compiled by libpcap): ${[...KNOWN_GAPS.keys()].join('; ')}`);
  t.diagnostic(
    `instructions: bpfkit ${mine}, libpcap ${theirs}; at or below libpcap's count: ${atOrBelow}/${valid} (${pct}%)`,
  );
  assert.deepEqual(failures, []);
});
