/**
 * One spec fault, one error: each bad spec below is loaded through the VM and (as root) through the kernel
 * engine, and both must refuse it with the same SpecError (exit 2) and the same message, before creating
 * anything. The good spec they are made from loads on both, so each failure is the fault's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadCollection, SpecError } from '../../src/loader/index.js';
import { validateSpec } from '../../src/engine/validate-spec.js';
import { InputError } from '../../src/util/errors.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { exit, lddw, mov64Imm, prog } from '../kernel/helpers/insns.js';
import { needs } from '../support/env.js';
import { mapSpec as map } from '../support/map-spec.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/**
 * A good object using every kind of reference: a map fd and a value address in the program, a prog array
 * naming the program, a map of maps (defined before the map it holds) naming a map, initial bytes.
 */
function goodSpec(): ObjectSpec {
  const counts = map('counts', MapType.ARRAY, 4, 8, 4);
  const insns = prog(lddw(1, 0), lddw(2, 0), mov64Imm(0, 2), exit());
  return {
    path: 'faults.o',
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [
      map('outer', MapType.ARRAY_OF_MAPS, 4, 4, 1, {
        innerMap: { ...counts, name: 'outer.inner' },
        contents: [{ key: u32(0), value: { map: 'counts' } }],
      }),
      counts,
      map('values', MapType.ARRAY, 4, 8, 1, { contents: [{ key: u32(0), value: new Uint8Array(8).fill(7) }] }),
      map('jumps', MapType.PROG_ARRAY, 4, 4, 2, { contents: [{ key: u32(1), value: { program: 'main' } }] }),
      map('table', MapType.HASH, 4, 8, 8),
    ],
    programs: [
      {
        name: 'main',
        section: 'xdp',
        type: ProgType.XDP,
        insns,
        mapRefs: [
          { pc: 0, map: 'counts', kind: 'fd', offset: 0 },
          { pc: 2, map: 'values', kind: 'value', offset: 4 },
        ],
        license: 'GPL',
        kernelVersion: 0,
      },
    ],
  };
}

const mapNamed = (s: ObjectSpec, name: string) => s.maps.find((m) => m.name === name)!;
const main = (s: ObjectSpec) => s.programs[0]!;

/** Each fault: how to make it from the good spec, and the message both engines must give. */
const FAULTS: { fault: string; make: (s: ObjectSpec) => void; message: string }[] = [
  {
    fault: 'two maps with one name',
    make: (s) => s.maps.push(map('table', MapType.ARRAY, 4, 4, 1)),
    message: "faults.o: two maps are named 'table'",
  },
  {
    fault: 'two programs with one name',
    make: (s) => s.programs.push({ ...main(s) }),
    message: "faults.o: two programs are named 'main'",
  },
  {
    fault: 'a program refers to an unknown map',
    make: (s) => (main(s).mapRefs[0]!.map = 'nope'),
    message: "faults.o: program 'main' refers to map 'nope', which the object does not define",
  },
  {
    fault: 'a map reference not on an lddw',
    make: (s) => (main(s).mapRefs[0]!.pc = 4),
    message: "faults.o: program 'main': the reference to map 'counts' at pc 4 is not on an lddw",
  },
  {
    fault: 'the address of a value of a hash map',
    make: (s) => (main(s).mapRefs[1]!.map = 'table'),
    message: "faults.o: program 'main' takes the address of a value of map 'table', which is not an array",
  },
  {
    fault: 'a value offset past the value',
    make: (s) => (main(s).mapRefs[1]!.offset = 8),
    message: "faults.o: program 'main': offset 8 is outside the 8-byte value of map 'values'",
  },
  {
    fault: 'a prog array naming an unknown program',
    make: (s) => (mapNamed(s, 'jumps').contents[0]!.value = { program: 'nope' }),
    message: "faults.o: map 'jumps': initial value names program 'nope', which the object does not define",
  },
  {
    fault: 'a program in a plain array',
    make: (s) => mapNamed(s, 'counts').contents.push({ key: u32(0), value: { program: 'main' } }),
    message: "faults.o: map 'counts': only a prog array holds programs, and it names program 'main'",
  },
  {
    fault: 'a map of maps without its template',
    make: (s) => delete mapNamed(s, 'outer').innerMap,
    message: "faults.o: map 'outer' is a map of maps without an inner map template",
  },
  {
    fault: 'a map of maps naming an unknown map',
    make: (s) => (mapNamed(s, 'outer').contents[0]!.value = { map: 'nope' }),
    message: "faults.o: map 'outer': initial value names map 'nope', which the object does not define",
  },
  {
    fault: 'a map of maps holding itself',
    make: (s) => (mapNamed(s, 'outer').contents[0]!.value = { map: 'outer' }),
    message: "faults.o: map 'outer': initial value names map 'outer', itself a map of maps (they do not nest)",
  },
  {
    fault: 'an initial key of the wrong size',
    make: (s) => (mapNamed(s, 'values').contents[0]!.key = new Uint8Array(2)),
    message: "faults.o: map 'values': an initial key has 2 bytes, the map's keys have 4",
  },
  {
    fault: 'an initial value of the wrong size',
    make: (s) => (mapNamed(s, 'values').contents[0]!.value = new Uint8Array(3)),
    message: "faults.o: map 'values': an initial value has 3 bytes, the map's values have 8",
  },
];

function badSpec(make: (s: ObjectSpec) => void): ObjectSpec {
  const s = goodSpec();
  make(s);
  return s;
}

/** The error a load throws (it must throw). */
async function refusal(spec: ObjectSpec, engine: 'vm' | 'kernel'): Promise<Error> {
  try {
    const c = await loadCollection(spec, {
      engine,
      vm: { cpus: 1 },
      kernel: { pinPath: `/sys/fs/bpf/bpfkit-test-${process.pid}-faults` },
    });
    c.close();
  } catch (err) {
    return err as Error;
  }
  assert.fail(`the ${engine} engine loaded the spec`);
}

function assertSpecError(err: Error, message: string): void {
  assert.ok(err instanceof SpecError, `a SpecError, got ${err.name}: ${err.message}`);
  assert.equal(err.exitCode, 2);
  assert.equal(err.message, message);
}

test('the good spec loads on the VM and passes validateSpec', async () => {
  validateSpec(goodSpec());
  const c = await loadCollection(goodSpec(), { engine: 'vm', vm: { cpus: 1 } });
  assert.equal(c.program('main').run({ data: new Uint8Array(64) }).retval, 2);
  c.close();
});

test('the good spec loads on the kernel engine (the map of maps before the map it holds)', async (t) => {
  if (!needs(t, { root: true })) return;
  const c = await loadCollection(goodSpec(), { engine: 'kernel' });
  try {
    assert.deepEqual([...c.maps.keys()], ['outer', 'counts', 'values', 'jumps', 'table'], 'maps in spec order');
    assert.equal(c.program('main').run({ data: new Uint8Array(64) }).retval, 2);
  } finally {
    c.close();
  }
});

for (const { fault, make, message } of FAULTS) {
  test(`spec fault, ${fault}: validateSpec and the VM give one SpecError (exit 2)`, async () => {
    assert.throws(
      () => validateSpec(badSpec(make)),
      (err: Error) => (assertSpecError(err, message), true),
    );
    assertSpecError(await refusal(badSpec(make), 'vm'), message);
  });

  test(`spec fault, ${fault}: the kernel engine gives the same error`, async (t) => {
    if (!needs(t, { root: true })) return;
    assertSpecError(await refusal(badSpec(make), 'kernel'), message);
  });
}

test('a big-endian object: the same SpecError class and exit code from both engines', async (t) => {
  const big = () => ({ ...goodSpec(), endian: 'big' as const });
  const vm = await refusal(big(), 'vm');
  assert.ok(vm instanceof SpecError);
  assert.equal(
    vm.message,
    'faults.o: the object is big-endian but the VM runs little-endian programs (build it with -target bpfel)',
  );
  if (!needs(t, { root: true })) return;
  const kernel = await refusal(big(), 'kernel');
  assert.ok(kernel instanceof SpecError);
  assert.equal(kernel.exitCode, 2);
  assert.match(kernel.message, /^faults\.o: the object is big-endian but this kernel runs little-endian programs/);
});

test('program() and map() with an unknown name: one InputError (exit 2) on both engines', async (t) => {
  const errors: Error[] = [];
  const engines: ('vm' | 'kernel')[] = needs(t, { root: true }) ? ['vm', 'kernel'] : ['vm'];
  for (const engine of engines) {
    const c = await loadCollection(goodSpec(), { engine, vm: { cpus: 1 } });
    try {
      assert.throws(
        () => c.program('nope'),
        (err: Error) => (errors.push(err), true),
      );
      assert.throws(
        () => c.map('nope'),
        (err: Error) => (errors.push(err), true),
      );
    } finally {
      c.close();
    }
  }
  for (const err of errors) {
    assert.ok(err instanceof InputError);
    assert.equal(err.exitCode, 2);
  }
  assert.equal(errors[0]!.message, "no program named 'nope' (the collection has: main)");
  assert.equal(errors[1]!.message, "no map named 'nope' (the collection has: outer, counts, values, jumps, table)");
  if (errors.length === 4)
    assert.deepEqual(
      errors.slice(2).map((e) => e.message),
      errors.slice(0, 2).map((e) => e.message),
    );
});
