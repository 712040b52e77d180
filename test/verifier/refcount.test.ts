/**
 * Refcounted objects and kptrs of the program's own structs (refcount-cases.ts): bpfkit's verdict and last
 * log line against the expectation, and as root the running kernel's against bpfkit's on the same prepared
 * object (verdict, instruction, last line), so each expectation is checked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileC } from '../../src/compile/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { isRoot, needs } from '../support/env.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { GRAPH_HEADER } from './graph-cases.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { skipWithoutBtf } from './kernel-btf.js';
import { tagKptrMembers } from './kptr-tag.js';
import { REFCOUNT_CASES, REFCOUNT_HEADER } from './refcount-cases.js';

test('refcounted objects and local kptrs get the kernel verdict, insn and words', async (t) => {
  if (!needs(t, { tools: ['clang'] }) || skipWithoutBtf(t)) return;
  if (!isRoot()) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const kernel = runningKernel();
  for (const c of REFCOUNT_CASES) {
    const source = `${GRAPH_HEADER}${REFCOUNT_HEADER}${c.source}\nchar LICENSE[] SEC("license") = "GPL";\n`;
    const { spec } = await compileC(source, { filename: `refcount-${c.name}.bpf.c` });
    spec.btf = tagKptrMembers(spec.btf!);
    const ps = prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, kernel);
    const prog = ps.programs.find((p) => p.name === 'prog')!;
    const v = verifyProgram(ps, prog, { kernelBtf: kernel.btf() });
    assertWant(c.name, v, 'pc' in c.want && c.want.pc < 0 ? { ...c.want, pc: v.pc ?? -1 } : c.want);
    if ('unmodelled' in c.want) assert.doesNotMatch(v.message!, /\n/, `${c.name}: one line`);
    if (!isRoot() || 'unmodelled' in c.want) continue;
    assertKernelAgrees(c.name, v, kernelVerdictObject(ps, 'prog'));
  }
});

test('kptr-tag: a kptr_* member becomes PTR -> TYPE_TAG kptr -> STRUCT, other users of its pointer keep theirs', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const { parseBtf, BtfKind } = await import('../../src/btf/index.js');
  const src = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct inner { long a; };
struct outer { struct inner *kptr_x; struct inner *plain; };
struct outer o; struct inner gi;
char LICENSE[] SEC("license") = "GPL";
`;
  const { spec } = await compileC(src, { filename: 'kptr-tag.bpf.c' });
  const btf = parseBtf(tagKptrMembers(spec.btf!));
  const outer = btf.byName('outer', BtfKind.STRUCT)!;
  const [k, p] = outer.members;
  const kp = btf.types[k!.type]!;
  const tag = btf.types[kp.sizeOrType]!;
  assert.equal(kp.kind, BtfKind.PTR);
  assert.equal(tag.kind, BtfKind.TYPE_TAG);
  assert.equal(tag.name, 'kptr');
  assert.equal(btf.types[tag.sizeOrType]!.name, 'inner');
  assert.notEqual(
    btf.types[btf.types[p!.type]!.sizeOrType]!.kind,
    BtfKind.TYPE_TAG,
    'the plain member keeps its pointer',
  );
});
