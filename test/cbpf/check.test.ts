// The classic checker: each of the kernel's rules by hand, then thousands of seeded random and mutated
// programs whose accept/reject must equal what the running kernel says through SO_ATTACH_FILTER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClassic, SKF_AD_OFF, ancillaryK, type SockFilter } from '../../src/cbpf/index.js';
import { ClassicFilterProbe } from '../../src/kernel/classic-filter-probe.js';
import { randomProgram, rng } from './random-programs.js';

const s = (code: number, k = 0, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k: k >>> 0 });
const RET0 = s(0x06, 0);

/** Hand-written programs and the rule (or undefined = accepted) the kernel's checker applies. */
const CASES: [string, SockFilter[], string | undefined][] = [
  ['empty program', [], 'length'],
  ['4096 returns', Array.from({ length: 4096 }, () => RET0), undefined],
  ['4097 returns', Array.from({ length: 4097 }, () => RET0), 'length'],
  ['ret a', [s(0x16)], undefined],
  ['ret x is not allowed', [s(0x0e)], 'opcode'],
  ['unknown opcode', [s(0xff), RET0], 'opcode'],
  ['div #0', [s(0x34, 0), RET0], 'div-by-zero'],
  ['mod #0', [s(0x94, 0), RET0], 'div-by-zero'],
  ['div x is fine', [s(0x3c), RET0], undefined],
  ['lsh #31', [s(0x64, 31), RET0], undefined],
  ['lsh #32', [s(0x64, 32), RET0], 'shift'],
  ['st M[15]', [s(0x02, 15), RET0], undefined],
  ['st M[16]', [s(0x02, 16), RET0], 'mem-index'],
  ['ja to the last', [s(0x05, 0), RET0], undefined],
  ['ja past the end', [s(0x05, 1), RET0], 'jump-range'],
  ['jeq jt past the end', [s(0x15, 0, 1, 0), RET0], 'jump-range'],
  ['jeq jf past the end', [s(0x15, 0, 0, 1), RET0], 'jump-range'],
  ['last not a return', [s(0x00, 1)], 'last-not-ret'],
  ['ld M[0] unwritten', [s(0x60, 0), RET0], 'mem-uninit'],
  ['st then ld', [s(0x02, 3), s(0x60, 3), RET0], undefined],
  ['written on one path only', [s(0x15, 0, 0, 1), s(0x02, 0), s(0x60, 0), RET0], 'mem-uninit'],
  [
    'a store the branch skips, then one both paths run',
    [s(0x15, 0, 0, 1), s(0x02, 0), s(0x03, 0), s(0x60, 0), RET0],
    undefined,
  ],
  ['ld [proto]', [s(0x20, ancillaryK('PROTOCOL')), RET0], undefined],
  ['ldb [vlan_tpid]', [s(0x30, ancillaryK('VLAN_TPID')), RET0], undefined],
  ['unknown ancillary', [s(0x20, SKF_AD_OFF + 64), RET0], 'ancillary'],
  ['misaligned ancillary', [s(0x28, SKF_AD_OFF + 1), RET0], 'ancillary'],
  ['SKF_NET_OFF is not ancillary', [s(0x30, -0x100000 + 9), RET0], undefined],
  ['ldx 4*([k]&0xf) with an ancillary k is fine', [s(0xb1, SKF_AD_OFF), RET0], undefined],
];

for (const [name, prog, rule] of CASES) {
  test(`checkClassic: ${name} → ${rule ?? 'accepted'}`, () => {
    const got = checkClassic(prog);
    assert.equal(got?.rule, rule, got?.message);
    if (got) assert.match(got.message, got.pc >= 0 ? new RegExp(`instruction ${got.pc}`) : /instructions/);
  });
}

test('checkClassic: "written on both paths" needs the second store before the join, as the kernel scans', () => {
  // jeq → (1) st M[0]; ja → (3); (2) stx M[0]; (3) ld M[0]: both paths write M[0].
  const prog = [s(0x15, 0, 0, 2), s(0x02, 0), s(0x05, 1), s(0x03, 0), s(0x60, 0), RET0];
  assert.equal(checkClassic(prog), undefined);
});

test('checkClassic agrees with the kernel (SO_ATTACH_FILTER) on hand-written and 6000 random programs', (t) => {
  if (process.platform !== 'linux') return t.skip('needs Linux');
  const probe = new ClassicFilterProbe();
  try {
    const r = rng(0xcbf15);
    const progs = [...CASES.map((c) => c[1]), ...Array.from({ length: 6000 }, () => randomProgram(r))];
    let accepted = 0;
    const byRule = new Map<string, number>();
    for (const [n, prog] of progs.entries()) {
      const ours = checkClassic(prog);
      const kernel = probe.attach(prog);
      const where = `program ${n}: ${JSON.stringify(prog)} (${ours?.message ?? 'we accept'})`;
      assert.equal(kernel.accepted, ours === undefined, where);
      if (!kernel.accepted) assert.equal(kernel.errno, 'EINVAL', where);
      if (ours) byRule.set(ours.rule, (byRule.get(ours.rule) ?? 0) + 1);
      else accepted++;
    }
    // The sample must exercise both answers and every rule.
    assert.ok(accepted > 500, `${accepted} accepted`);
    for (const rule of [
      'opcode',
      'div-by-zero',
      'shift',
      'mem-index',
      'jump-range',
      'ancillary',
      'last-not-ret',
      'mem-uninit',
    ]) {
      assert.ok((byRule.get(rule) ?? 0) > 0, `rule ${rule} exercised: ${JSON.stringify([...byRule])}`);
    }
  } finally {
    probe.close();
  }
});
