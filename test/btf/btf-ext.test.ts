/**
 * The .BTF.ext reader on hand-built sections: records come back per code section with their strings, and
 * every malformed length, offset or value is one InputError naming the section and byte offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBtf } from '../../src/btf/btf.js';
import { parseBtfExt } from '../../src/btf/btf-ext.js';
import { InputError } from '../../src/util/errors.js';
import { Strings, buildBtf, buildBtfExt, int, struct } from './build-btf.js';

const strings = new Strings();
const tc = strings.add('tc');
const file = strings.add('/src/prog.c');
const line = strings.add('int f(void) { return 1; }');
const access = strings.add('0:1');
const btf = parseBtf(
  buildBtf(
    [
      int('int', 4, true),
      struct('s', 8, [
        ['a', 1, 0],
        ['b', 1, 32],
      ]),
    ],
    strings,
  ).raw,
);

const good = () =>
  buildBtfExt(tc, {
    func: [[0, 3]],
    line: [[8, file, line, (12 << 10) | 5]],
    core: [[16, 2, access, 0]],
  });

test('func_info, line_info and CO-RE records, by section, with their strings', () => {
  const ext = parseBtfExt(good(), btf);
  assert.deepEqual(ext.funcInfo.get('tc'), [{ insnOff: 0, typeId: 3 }]);
  assert.deepEqual(ext.lineInfo.get('tc'), [
    {
      insnOff: 8,
      fileNameOff: file,
      lineOff: line,
      lineCol: (12 << 10) | 5,
      file: '/src/prog.c',
      source: 'int f(void) { return 1; }',
      line: 12,
      column: 5,
    },
  ]);
  assert.deepEqual(ext.coreRelos.get('tc'), [{ insnOff: 16, typeId: 2, accessStrOff: access, access: '0:1', kind: 0 }]);
});

/** Expect a one-line InputError whose place names .BTF.ext and `at`. */
function refuses(bytes: Uint8Array, message: RegExp, at: number) {
  assert.throws(
    () => parseBtfExt(bytes, btf, 'x.o: section .BTF.ext'),
    (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, message);
      assert.match(err.message, new RegExp(`x\\.o: section \\.BTF\\.ext\\+0x${at.toString(16)}\\b`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    },
  );
}

const edit = (f: (v: DataView) => void) => {
  const b = good();
  f(new DataView(b.buffer));
  return b;
};

test('malformed .BTF.ext: each fault is one line naming the offset', () => {
  refuses(good().slice(0, 10), /shorter than the 24-byte header/, 0);
  refuses(
    edit((v) => v.setUint16(0, 0x1234, true)),
    /bad .BTF.ext magic/,
    0,
  );
  refuses(
    edit((v) => v.setUint8(2, 2)),
    /unsupported .BTF.ext version 2/,
    2,
  );
  refuses(
    edit((v) => v.setUint32(4, 4096, true)),
    /header length 4096/,
    4,
  );
  refuses(
    edit((v) => v.setUint32(12, 4096, true)),
    /func_info subsection .* runs past the end/,
    8,
  );
  refuses(
    edit((v) => v.setUint32(32, 3, true)),
    /func_info record size 3 is invalid/,
    32,
  );
  refuses(
    edit((v) => v.setUint32(40, 1000, true)),
    /claims 1000 records .* past the subsection's end/,
    40,
  );
  refuses(
    edit((v) => v.setUint32(36, 9999, true)),
    /section name string offset 9999 is beyond/,
    36,
  );
  refuses(
    edit((v) => v.setUint32(44, 4, true)),
    /func_info insn_off 4 in section 'tc' is not on an instruction boundary/,
    44,
  );
  const coreAt = 32 + 20 + 28 + 12; // the record: after func block (20 bytes), line block (28), core header (12)
  refuses(
    edit((v) => v.setUint32(coreAt + 12, 99, true)),
    /core_relo kind 99 in section 'tc' is unknown/,
    coreAt + 12,
  );
  refuses(
    edit((v) => v.setUint32(coreAt + 8, 5000, true)),
    /core_relo access string offset 5000/,
    coreAt + 8,
  );
});
