/**
 * CO-RE resolution on hand-built BTF (libbpf's rules, no clang or kernel needed): flavours, anonymous
 * members, bitfields, existence, enums, ambiguity and poisoning; then the instruction patching of
 * src/elf/core-apply.ts, including its one-line refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBtf } from '../../src/btf/btf.js';
import { CoreRelocationError, resolveCoreRelocation } from '../../src/btf/core/resolve.js';
import { CoreReloKind as K } from '../../src/btf/core/kinds.js';
import { essentialName } from '../../src/btf/core/access.js';
import { applyCoreRelocations, CORE_POISON_HELPER } from '../../src/elf/core-apply.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { makeInsn } from '../../src/isa/instruction.js';
import { InputError } from '../../src/util/errors.js';
import { buildBtf, enumeration, int, struct } from './build-btf.js';

// Local: [1] int, [2] u32, [3] struct foo___v1 { int b; u32 flag:3; }, [4] enum e___x { B___x }, [5] struct gone { int x; }
const local = parseBtf(
  buildBtf([
    int('int', 4, true),
    int('unsigned int', 4),
    struct('foo___v1', 8, [
      ['b', 1, 0],
      ['flag', 2, 32, 3],
    ]),
    enumeration('e___x', [['B___x', 1]]),
    struct('gone', 4, [['x', 1, 0]]),
  ]).raw,
);
// Target: [1] int, [2] u32, [3] union { int b; }, [4] struct foo { int a; <anon union> ; u32 pad:5, flag:3 }, [5] enum e { A, B }
const target = parseBtf(
  buildBtf([
    int('int', 4, true),
    int('unsigned int', 4),
    struct('', 4, [['b', 1, 0]], true),
    struct('foo', 12, [
      ['a', 1, 0],
      ['', 3, 32],
      ['pad', 2, 64, 5],
      ['flag', 2, 69, 3],
    ]),
    enumeration('e', [
      ['A', 10],
      ['B', 20],
    ]),
  ]).raw,
);

const r = (kind: number, typeId: number, access: string) =>
  resolveCoreRelocation(local, target, { kind, typeId, access });

test('flavours are stripped by libbpf rule (X___Y, neither an underscore)', () => {
  assert.equal(essentialName('__sk_buff___mini'), '__sk_buff');
  assert.equal(essentialName('task_struct'), 'task_struct');
  assert.equal(essentialName('a____b'), 'a____b');
  assert.equal(essentialName('a___b___c'), 'a___b');
  assert.equal(essentialName('foo___'), 'foo___');
});

test('field relocations: offset through an anonymous union, sizes, bitfield shifts, signedness', () => {
  assert.equal(r(K.FIELD_BYTE_OFFSET, 3, '0:0').targetValue, 4);
  assert.equal(r(K.FIELD_BYTE_OFFSET, 3, '0:0').localValue, 0);
  assert.equal(r(K.FIELD_BYTE_SIZE, 3, '0:0').targetValue, 4);
  assert.equal(r(K.FIELD_EXISTS, 3, '0:0').targetValue, 1);
  assert.equal(r(K.FIELD_SIGNED, 3, '0:0').targetValue, 1);
  assert.equal(r(K.FIELD_SIGNED, 3, '0:1').targetValue, 0);
  // flag: bits 69..71 of the target, read with an aligned 4-byte load at byte 8.
  assert.equal(r(K.FIELD_BYTE_OFFSET, 3, '0:1').targetValue, 8);
  assert.equal(r(K.FIELD_LSHIFT_U64, 3, '0:1').targetValue, 64 - (69 + 3 - 64));
  assert.equal(r(K.FIELD_RSHIFT_U64, 3, '0:1').targetValue, 61);
});

test('type and enum relocations; what is missing gives 0 or poisons', () => {
  assert.equal(r(K.TYPE_EXISTS, 3, '0').targetValue, 1);
  assert.equal(r(K.TYPE_SIZE, 3, '0').targetValue, 12);
  assert.equal(r(K.TYPE_ID_TARGET, 3, '0').targetValue, 4);
  assert.equal(r(K.TYPE_ID_LOCAL, 3, '0').targetValue, 3);
  assert.equal(r(K.TYPE_EXISTS, 5, '0').targetValue, 0);
  assert.equal(r(K.TYPE_SIZE, 5, '0').targetValue, 0);
  assert.equal(r(K.ENUMVAL_EXISTS, 4, '0').targetValue, 1);
  assert.equal(r(K.ENUMVAL_VALUE, 4, '0').targetValue, 20);
  assert.equal(r(K.FIELD_EXISTS, 5, '0:0').targetValue, 0);
  const missing = r(K.FIELD_BYTE_OFFSET, 5, '0:0');
  assert.equal(missing.poison, true);
  assert.match(missing.description, /poisoned/);
});

test('bad access strings and ambiguity are one-line errors', () => {
  assert.throws(
    () => r(K.FIELD_BYTE_OFFSET, 3, '0:5'),
    (e: unknown) => e instanceof CoreRelocationError && /beyond the 2 members/.test(e.message),
  );
  assert.throws(() => r(K.FIELD_BYTE_OFFSET, 3, '0:x'), /not a list of indexes/);
  assert.throws(() => r(K.TYPE_SIZE, 3, '0:1'), /must be "0"/);
  assert.throws(() => r(K.ENUMVAL_VALUE, 4, '3'), /not an enumerator/);
  assert.throws(() => r(K.FIELD_BYTE_OFFSET, 99, '0:0'), /out of range/);
  // Two target `foo` flavours disagreeing on b's offset.
  const two = parseBtf(
    buildBtf([int('int', 4, true), struct('foo', 4, [['b', 1, 0]]), struct('foo___other', 8, [['b', 1, 32]])]).raw,
  );
  assert.throws(
    () => resolveCoreRelocation(local, two, { kind: K.FIELD_BYTE_OFFSET, typeId: 3, access: '0:0' }),
    /ambiguity/,
  );
});

const spec = (insns: ReturnType<typeof makeInsn>[], relos: ObjectSpec['programs'][0]['coreRelos']): ObjectSpec => ({
  path: 'x.o',
  endian: 'little',
  license: 'GPL',
  kernelVersion: 0,
  maps: [],
  btf: local.raw,
  programs: [
    { name: 'p', section: 'tc', type: 3, insns, mapRefs: [], license: 'GPL', kernelVersion: 0, coreRelos: relos! },
  ],
});

test('patching: load offsets, immediates, lddw, poisoning, and the compiler value checked', () => {
  const ldx = makeInsn({ pc: 0, code: 0x61, dst: 0, src: 1, off: 0 }); // r0 = *(u32 *)(r1 + 0)
  const mov = makeInsn({ pc: 1, code: 0xb7, dst: 2, imm: 4 }); // r2 = 4 (byte size)
  const lddw = makeInsn({ pc: 2, code: 0x18, dst: 3, imm: 0 }); // r3 = 0 ll (offset of gone.x: poisoned)
  const exit = makeInsn({ pc: 4, code: 0x95 });
  const out = applyCoreRelocations(
    spec(
      [ldx, mov, lddw, exit],
      [
        { pc: 0, typeId: 3, access: '0:0', kind: K.FIELD_BYTE_OFFSET },
        { pc: 1, typeId: 3, access: '0:0', kind: K.FIELD_BYTE_SIZE },
        { pc: 2, typeId: 5, access: '0:0', kind: K.FIELD_BYTE_OFFSET },
      ],
    ),
    target,
  );
  const p = out.programs[0]!;
  assert.equal(p.coreRelos, undefined);
  assert.equal(p.insns[0]!.off, 4);
  assert.equal(p.insns[1]!.imm, 4);
  assert.deepEqual(
    p.insns.slice(2, 4).map((i) => [i.pc, i.code, i.imm]),
    [
      [2, 0x85, CORE_POISON_HELPER],
      [3, 0x85, CORE_POISON_HELPER],
    ],
  );
  assert.deepEqual(
    p.coreResults!.map((c) => [c.targetValue, c.poisoned]),
    [
      [4, false],
      [4, false],
      [0, true],
    ],
  );
  // The instruction does not hold what the compiler recorded: refused, naming object, program and pc.
  const wrong = makeInsn({ pc: 0, code: 0x61, dst: 0, src: 1, off: 12 });
  assert.throws(
    () => applyCoreRelocations(spec([wrong, exit], [{ pc: 0, typeId: 3, access: '0:0', kind: 0 }]), target),
    (e: unknown) =>
      e instanceof InputError &&
      e.exitCode === 2 &&
      /x\.o: program 'p' pc 0 .*holds 12, but the compiler recorded 0/.test(e.message),
  );
  assert.throws(
    () => applyCoreRelocations(spec([ldx, exit], [{ pc: 3, typeId: 3, access: '0:0', kind: 0 }]), target),
    /pc 3 .*not at the start of an instruction/,
  );
});
