/**
 * Loads nested in loads' indexes (`ip[ip[ip[...]]]`, up to MAX_NESTING deep) compile in time linear in the
 * depth, to libpcap's program. The work is counted, not timed: the pull-up's walks (src/pcap-filter/pullup.ts)
 * over a chain of blocks testing one value used to start again from each block (n^2/2 steps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatImage } from '../../src/cbpf/index.js';
import { compileFilter, MAX_NESTING } from '../../src/pcap-filter/index.js';
import { pullUp, type PullupFacts } from '../../src/pcap-filter/pullup.js';
import { flatten } from '../../src/pcap-filter/gencode.js';
import type { Block } from '../../src/pcap-filter/blocks.js';
import { tcpdumpListing } from './oracle.js';
import { needs } from '../support/env.js';

const nest = (shape: (inner: string, i: number) => string, depth: number): string => {
  let e = '0';
  for (let i = 0; i < depth; i++) e = shape(e, i);
  return `${e} = 1`;
};

/** A chain of `n` jumps testing one value (A's value number 7), linked by their true branches (and_pullup's side), all false branches to one reject block. */
function chain(n: number): { facts: PullupFacts; exitACalls: () => number } {
  let id = 0;
  const ret = (k: number): Block => ({ id: id++, stmts: [], jcode: 0, k: 0, jt: null, jf: null, ret: k });
  const reject = ret(0);
  const accept = ret(262144);
  const blocks: Block[] = [];
  for (let i = 0; i <= n; i++) blocks.push({ id: id++, stmts: [], jcode: 0x15, k: 0x800, jt: null, jf: reject });
  for (let i = 0; i < n; i++) blocks[i]!.jt = blocks[i + 1]!;
  blocks[n]!.jt = accept;
  const preds = new Map<Block, Block[]>();
  for (let i = 1; i <= n; i++) preds.set(blocks[i]!, [blocks[i - 1]!]);
  preds.set(reject, blocks.slice());
  preds.set(accept, [blocks[n]!]);
  let calls = 0;
  const facts: PullupFacts = {
    order: [...blocks, reject, accept],
    preds,
    exitA: () => {
      calls++;
      return 7;
    },
    liveIn: () => 0,
    defs: () => 0,
  };
  return { facts, exitACalls: () => calls };
}

test('the pull-up walks a chain of tests of one value in linear work, and moves nothing there', () => {
  const small = chain(1000);
  const large = chain(4000);
  assert.equal(pullUp(small.facts, 'jt'), false);
  assert.equal(pullUp(large.facts, 'jt'), false);
  // Quadratic, 4x the chain is 16x the work (and 4000 blocks ~8M steps); linear, 4x.
  const ratio = large.exitACalls() / small.exitACalls();
  assert.ok(ratio < 6, `4x the blocks took ${ratio.toFixed(1)}x the steps`);
  assert.ok(large.exitACalls() < 40 * 4000, `${large.exitACalls()} steps for 4000 blocks`);
});

test('flatten keeps the order of a statement tree thousands deep', () => {
  let tree: Parameters<typeof flatten>[0] = [{ code: 0, k: 0 }];
  for (let i = 1; i < 20_000; i++) tree = i % 2 ? [tree, { code: 0, k: i }] : [{ code: 0, k: -i }, tree];
  const ks = flatten(tree).map((s) => s.k);
  assert.equal(ks.length, 20_000);
  // odd levels appended after, even levels put in front
  assert.equal(ks[0], -19_998);
  assert.equal(ks[ks.length - 1], 19_999);
  assert.equal(ks.indexOf(0), 9_999);
});

// (Left out, differences of their own that this speed-up does not touch: `tcp[tcp[...]]` 1,000 deep, where
// libpcap's optimizer drops the repeated protocol checks and bpfkit keeps them, and `ip[ip[...] + tcp[k]]`,
// where libpcap picks other scratch slots.)
const shapes: [string, (inner: string, i: number) => string][] = [
  ['ip[ip[...]]', (e) => `ip[${e}]`],
  ['ip[ip[...] & 0xf]', (e) => `ip[${e} & 0xf]`],
  ['ip6[ip6[...]:2]', (e) => `ip6[${e}:2]`],
  ['link[link[...]]', (e) => `link[${e}]`],
];

test(`loads nested ${MAX_NESTING} deep compile to libpcap's program (tcpdump -d)`, async (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  for (const [name, shape] of shapes) {
    const expr = nest(shape, MAX_NESTING - 1);
    const want = await tcpdumpListing('EN10MB', expr);
    assert.ok('listing' in want, `${name}: tcpdump: ${'error' in want ? want.error : ''}`);
    assert.equal(formatImage(compileFilter(expr)), want.listing, name);
  }
});
