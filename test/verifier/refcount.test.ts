/**
 * Refcounted objects and kptrs of the program's own structs (refcount-cases.ts): bpfkit's verdict and last
 * log line against the expectation, and as root the running kernel's against bpfkit's on the same prepared
 * object (verdict, instruction, last line), so each expectation is checked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileC } from '../../src/compile/index.js';
import { needs } from '../support/env.js';
import { judgeGraphCases } from './graph-cases.js';
import { tagKptrMembers } from './kptr-tag.js';
import { REFCOUNT_CASES, REFCOUNT_HEADER } from './refcount-cases.js';

test('refcounted objects and local kptrs get the kernel verdict, insn and words', (t) =>
  judgeGraphCases(t, REFCOUNT_CASES, 'refcount', REFCOUNT_HEADER, (spec) => {
    spec.btf = tagKptrMembers(spec.btf!);
  }));

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
