/**
 * A large generated differential corpus: expressions from a small grammar (generated.ts, fixed seeds)
 * over five link types, each compiled by bpfkit and run (compiled to JavaScript) on the synthetic capture
 * of its link type, against `tcpdump -r FILE EXPR` itself on the same file — every other expression with
 * the optimizer off (-O) on both sides. Both must refuse the same expressions. The short run (a few
 * hundred expressions) stays well under a minute; the long one (`long`: 3000) is the full suite's.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, findLinkType } from '../../src/pcap-filter/index.js';
import { compileClassicToJs } from '../../src/cbpf/index.js';
import { needs } from '../support/env.js';
import { ethernetFrames, reframe, writePcap } from './frames.js';
import { tcpdumpKeeps } from './oracle.js';
import { expressionGenerator, type GrammarLimits } from './generated.js';

const LINKTYPES = ['EN10MB', 'RAW', 'LINUX_SLL', 'LINUX_SLL2', 'PPP'];

function differential(t: TestContext, seed: number, count: number, limits: GrammarLimits = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-pf-gen-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const eth = ethernetFrames();
  const captures = LINKTYPES.map((linktype) => {
    const packets =
      linktype === 'EN10MB'
        ? eth.map((f) => ({ data: f.data, wireLen: f.wireLen }))
        : reframe(eth, linktype).map((data) => ({ data }));
    const file = join(dir, `${linktype}.pcap`);
    writePcap(file, findLinkType(linktype).linktype, packets);
    return {
      linktype,
      file,
      packets: packets.map((p) => ({
        data: new Uint8Array(p.data),
        len: (p as { wireLen?: number }).wireLen ?? p.data.length,
      })),
    };
  });
  const next = expressionGenerator(seed, limits);
  const failures: string[] = [];
  let valid = 0;
  let refused = 0;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const expr = next();
    const cap = captures[i % captures.length]!;
    const optimize = Math.floor(i / captures.length) % 2 === 0;
    const want = tcpdumpKeeps(cap.file, expr, optimize);
    let got: number[] | undefined;
    let err = '';
    try {
      // As `bpfkit pcap filter` runs it: libpcap's userspace rule for shifts by X >= 32, as tcpdump -r.
      const prog = compileFilter(expr, { linktype: cap.linktype, optimize });
      const f = compileClassicToJs(prog, undefined, { shifts: 'libpcap', loops: true });
      got = [];
      cap.packets.forEach((p, n) => f(p.data, p.len) !== 0 && got!.push(n));
    } catch (e) {
      err = (e as Error).message;
    }
    const where = `[${cap.linktype}${optimize ? '' : ' -O'}] ${expr}`;
    if (!Array.isArray(want)) {
      refused++;
      if (got) failures.push(`${where}: tcpdump refuses (${want.error}), bpfkit compiles it`);
      continue;
    }
    valid++;
    if (!got) failures.push(`${where}: tcpdump accepts it, bpfkit refuses: ${err}`);
    else if (got.join() !== want.join()) {
      const extra = got.filter((n) => !want.includes(n));
      const missing = want.filter((n) => !got.includes(n));
      failures.push(`${where}: bpfkit also keeps [${extra}], misses [${missing}]`);
    } else kept += got.length;
  }
  t.diagnostic(
    `${count} generated expressions (seed ${seed}): ${valid} valid, ${refused} refused by both or one, ${kept} packets kept in agreement`,
  );
  assert.ok(valid > count / 3, `only ${valid} of ${count} expressions were valid: the grammar exercises too little`);
  return failures;
}

test(
  'generated expressions (a short run of 300, five link types, -O and optimized) keep what tcpdump -r keeps',
  { timeout: 120_000 },
  (t) => {
    if (!needs(t, { tools: ['tcpdump'] })) return;
    // Comparisons of one (masked) access, no arithmetic chains, no arp[]/ether[]: see the long run for those.
    const failures = differential(t, 0x9e1, 300, {
      noShifts: true,
      oneProtocol: true,
      simpleArithmetic: true,
      indexed: ['ip', 'tcp', 'udp', 'icmp', 'ip6'],
    });
    assert.deepEqual(failures, []);
  },
);

/**
 * Where bpfkit knowingly differs on this run, keyed as the failure is reported (`[LINKTYPE( -O)] expr`),
 * each with its reason (docs/pcap-filter.md, "Optimizer corner cases"). Everything else must agree.
 */
const NAMED_DIFFERENCES = new Map<string, string>([
  [
    '[EN10MB] ip6[19 + 3:4] > 152 or dst port domain || ip src and dst net 192.168.0.0/16 && tcp[tcpflags] & (tcp-ece|tcp-ece|tcp-cwr) = 0 and icmp[icmptype] != 8',
    'seed 1: libpcap folds constant arithmetic only in its second pass, after jumps are threaded, so it compiles a program keeping nothing where bpfkit says "expression rejects all packets"',
  ],
  [
    String.raw`[EN10MB] not ip src net 10.0.0.0/24 || src or dst host ::1 || ip proto \tcp && tcp`,
    'seed 1: libpcap merges equal blocks (intern_blocks) only after its last pass, so it keeps the load of a test whose branches become one and refuses an IPv4 runt that bpfkit keeps',
  ],
]);

/**
 * The full grammar over 3000 expressions, seeds 0x5eed and 1 (2026-12-06: 49 disagreements, then 6, now
 * none unexplained; seed 1's two open ones are named above):
 * precedence of `^` and `%`, protocol checks of `a OP b`, refusals of shifts and division, ether[] after
 * pppoes, the entry block's loads kept as libpcap's opt_root keeps them, relations and primitives not
 * folded against each other, a number before an operator read as arithmetic.
 */
for (const seed of [0x5eed, 1])
  test(`generated expressions, the long run (3000, the full grammar, seed ${seed})`, { timeout: 900_000 }, (t) => {
    if (!needs(t, { tools: ['tcpdump'], long: true })) return;
    longRun(t, seed);
  });

function longRun(t: TestContext, seed: number): void {
  const failures = differential(t, seed, 3000).filter((f) => {
    const named = [...NAMED_DIFFERENCES.keys()].find((k) => f.startsWith(`${k}:`));
    if (named) t.diagnostic(`named difference: ${named} (${NAMED_DIFFERENCES.get(named)})`);
    return !named;
  });
  for (const f of failures) t.diagnostic(f.length > 300 ? `${f.slice(0, 300)}...` : f);
  assert.deepEqual(failures, []);
}
