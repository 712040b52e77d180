/**
 * The running kernel's helper set (src/kernel/helper-probe.ts) and the verifier told it: a kernel may
 * refuse helpers upstream allows (this machine's refuses bpf_xdp_adjust_meta to XDP programs), and
 * `helperAvailable` makes the verifier refuse them as that kernel does, at the same instruction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { encodeProgram } from '../../src/isa/index.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { kernelHelperProbe, loadProgram, VerifierError } from '../../src/kernel/index.js';
import { spawnSync } from 'node:child_process';
import { needs, repoPath } from '../support/env.js';

// r1 (the context) and r2 are set, as a real call of bpf_xdp_adjust_meta(ctx, -8) / adjust_head has them.
const callWith = (id: number) => assemble(`r2 = -8\ncall ${id}\nr0 = 0\nexit`);

test('helperAvailable false: the verifier refuses the call as the kernel words it, at its instruction', () => {
  const insns = callWith(54);
  assert.equal(verifyInstructions(insns, { type: ProgType.XDP }).accepted, true, 'upstream allows it');
  const asked: [number, number][] = [];
  const v = verifyInstructions(insns, {
    type: ProgType.XDP,
    helperAvailable: (type, id) => {
      asked.push([type, id]);
      return id !== 54;
    },
  });
  assert.equal(v.accepted, false);
  assert.equal(v.pc, 1);
  assert.equal(v.message, 'program of this type cannot use helper bpf_xdp_adjust_meta#54');
  assert.deepEqual(asked, [[ProgType.XDP, 54]]);
  // Only helpers upstream allows are asked about: the tables refuse the others first.
  const sock = verifyInstructions(callWith(44), { type: ProgType.SOCKET_FILTER, helperAvailable: () => true });
  assert.equal(sock.message, 'program of this type cannot use helper bpf_xdp_adjust_head#44');
});

test('the probe answers what loading a real call says, helper by helper (root)', (t) => {
  if (!needs(t, { root: true })) return;
  const probe = kernelHelperProbe();
  const cases: [number, number][] = [
    [ProgType.XDP, 54], // bpf_xdp_adjust_meta
    [ProgType.XDP, 44], // bpf_xdp_adjust_head
    [ProgType.XDP, 1], // bpf_map_lookup_elem: no map here, but the call itself is allowed
    [ProgType.SOCKET_FILTER, 44],
    [ProgType.SCHED_CLS, 28], // bpf_csum_diff
  ];
  for (const [type, id] of cases) {
    let kernelAllows: boolean;
    try {
      const { fd } = loadProgram({
        name: 'probe_check',
        type,
        insns: encodeProgram(callWith(id)),
        license: 'GPL',
        logLevel: 1,
      });
      closeFd(fd);
      kernelAllows = true;
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      kernelAllows = !/cannot use helper|unknown func|invalid func/.test(err.log);
    }
    assert.equal(probe(type, id), kernelAllows, `program type ${type}, helper #${id}`);
  }
  assert.equal(probe(ProgType.SOCKET_FILTER, 44), false, 'XDP-only helper refused to a socket filter');
  assert.equal(probe(ProgType.XDP, 44), true, 'bpf_xdp_adjust_head allowed to XDP');
  // Types that load only with an attach type are probed with one: the answers are the kernel's, not the
  // "cannot settle" default (sk_skb's helper refused to a cgroup_sock_addr hook; sysctl's get_retval kept).
  assert.equal(probe(ProgType.CGROUP_SOCK_ADDR, 26), false, 'skb_load_bytes refused to cgroup_sock_addr');
  assert.equal(probe(23, 186), true, 'bpf_get_retval allowed to a cgroup_sysctl hook');
});

test('bpfkit verify --this-kernel refuses what this kernel refuses, at the call, and nothing else (root)', (t) => {
  if (!needs(t, { root: true })) return;
  const run = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      [
        repoPath('bin/bpfkit.js'),
        'verify',
        repoPath('test/programs/fixtures/helpers.o'),
        '--program',
        'xdp_resize',
        ...extra,
      ],
      { encoding: 'utf8' },
    );
  assert.equal(run().status, 0, 'upstream allows every call of xdp_resize');
  const here = run('--this-kernel');
  if (kernelHelperProbe()(ProgType.XDP, 54)) {
    assert.equal(here.status, 0, here.stdout + here.stderr);
  } else {
    assert.equal(here.status, 1);
    assert.match(
      here.stdout,
      /xdp_resize: refused at insn \d+: program of this type cannot use helper bpf_xdp_adjust_meta#54/,
    );
  }
});
