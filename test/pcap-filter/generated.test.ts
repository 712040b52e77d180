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
import { expressionGenerator } from './generated.js';

const LINKTYPES = ['EN10MB', 'RAW', 'LINUX_SLL', 'LINUX_SLL2', 'PPP'];

function differential(t: TestContext, seed: number, count: number): void {
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
    return { linktype, file, packets: packets.map((p) => ({ data: new Uint8Array(p.data), len: p.wireLen ?? p.data.length })) };
  });
  const next = expressionGenerator(seed);
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
      const f = compileClassicToJs(compileFilter(expr, { linktype: cap.linktype, optimize }));
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
      const missing = want.filter((n) => !got!.includes(n));
      failures.push(`${where}: bpfkit also keeps [${extra}], misses [${missing}]`);
    } else kept += got.length;
  }
  t.diagnostic(`${count} generated expressions (seed ${seed}): ${valid} valid, ${refused} refused by both or one, ${kept} packets kept in agreement`);
  assert.ok(valid > count / 3, `only ${valid} of ${count} expressions were valid: the grammar exercises too little`);
  assert.deepEqual(failures, []);
}

test('generated expressions (300, five link types, -O and optimized) keep what tcpdump -r keeps', { timeout: 120_000 }, (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  differential(t, 0x9e1, 300);
});

test('generated expressions, the long run (3000 more)', { timeout: 900_000 }, (t) => {
  if (!needs(t, { tools: ['tcpdump'], long: true })) return;
  differential(t, 0x5eed, 3000);
});
