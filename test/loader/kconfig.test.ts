/** `.kconfig` values as libbpf encodes them, and the config file parser. Pure: no kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKconfig, parseKconfig } from '../../src/loader/kconfig.js';
import { kernelVersionCode } from '../../src/util/kernel-version.js';
import type { ExternSpec } from '../../src/elf/spec.js';
import { InputError } from '../../src/util/errors.js';

const ext = (kconfigType: ExternSpec['kconfigType'], size: number, signed = false): ExternSpec => ({
  name: 'CONFIG_X',
  kind: 'kconfig',
  weak: false,
  btfTypeId: 1,
  size,
  kconfigType,
  signed,
});
const enc = (e: ExternSpec, raw: string) => [...encodeKconfig(e, raw, 'little', 'test')];

test('config files: values and "is not set" lines', () => {
  const m = parseKconfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n# comment\n');
  assert.deepEqual(
    [...m],
    [
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', '"x y"'],
      ['CONFIG_D', '0x10'],
    ],
  );
});

test('y/n/m into bool, tristate and char; numbers; strings cut to fit and NUL-terminated', () => {
  assert.deepEqual(enc(ext('bool', 1), 'y'), [1]);
  assert.deepEqual(enc(ext('tristate', 4), 'm'), [2, 0, 0, 0]);
  assert.deepEqual(enc(ext('char', 1), 'm'), [0x6d]);
  assert.deepEqual(enc(ext('int', 4), '250'), [250, 0, 0, 0]);
  assert.deepEqual(enc(ext('int', 2), '0x1234'), [0x34, 0x12]);
  assert.deepEqual(enc(ext('int', 4, true), '-1'), [255, 255, 255, 255]);
  assert.deepEqual(enc(ext('chars', 4), '"abcdef"'), [0x61, 0x62, 0x63, 0]);
  assert.equal(kernelVersionCode('6.18.300-x'), (6 << 16) + (18 << 8) + 255);
});

test('values their C type cannot hold are one-line input errors', () => {
  const bad: [ExternSpec, string, RegExp][] = [
    [ext('bool', 1), 'm', /bool cannot hold/],
    [ext('int', 4), '"text"', /needs a char array/],
    [ext('int', 1), '300', /does not fit an unsigned 1-byte integer/],
    [ext('chars', 8), 'y', /needs a bool, char or enum libbpf_tristate/],
    [ext('int', 4), 'banana', /neither y\/n\/m, a "string" nor a number/],
  ];
  for (const [e, raw, why] of bad) {
    assert.throws(
      () => encodeKconfig(e, raw, 'little', '/proc/config.gz'),
      (err: unknown) =>
        err instanceof InputError && err.exitCode === 2 && why.test(err.message) && !err.message.includes('\n'),
    );
  }
});
