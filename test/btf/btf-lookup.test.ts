/**
 * Name lookups and lazily read members of parseBtf: idsNamed / idsNamedFrom / byName agree with a plain
 * scan of the types (ASCII string sections are searched in place, others use a name index), members read
 * on first use equal their record, and a bad member string offset still fails at parse time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBtf, BtfKind } from '../../src/btf/btf.js';
import { InputError } from '../../src/util/errors.js';
import { buildBtf, int, struct, typedef } from './build-btf.js';

const scan = (types: { id: number; name: string }[], keep: (name: string) => boolean) =>
  types.filter((t) => t.id > 0 && keep(t.name)).map((t) => t.id);

for (const flavour of ['ascii', 'utf-8']) {
  test(`name lookups agree with a scan of the types (${flavour} strings)`, () => {
    const suffix = flavour === 'ascii' ? '' : 'é';
    const { raw } = buildBtf([
      int('int', 4, true),
      struct(`sk${suffix}`, 8, [
        ['mark', 1, 0],
        ['len', 1, 32],
      ]),
      struct(`sk${suffix}___v2`, 4, [['mark', 1, 0]]),
      typedef(`sk${suffix}`, 2),
      struct(`sk${suffix}x`, 4, [['mark', 1, 0]]),
    ]);
    const btf = parseBtf(raw, 'test');
    for (const name of [`sk${suffix}`, `sk${suffix}___v2`, 'int', 'mark', 'absent', '']) {
      assert.deepEqual([...btf.idsNamed(name)], name ? scan(btf.types, (n) => n === name) : [], name);
    }
    for (const prefix of [`sk${suffix}`, `sk${suffix}___`, 'in', 'zz']) {
      assert.deepEqual(
        [...btf.idsNamedFrom(prefix)],
        scan(btf.types, (n) => n.startsWith(prefix)),
        prefix,
      );
    }
    assert.equal(btf.byName(`sk${suffix}`)?.id, 2);
    assert.equal(btf.byName(`sk${suffix}`, BtfKind.TYPEDEF)?.id, 4);
    assert.equal(btf.byName('mark'), undefined);
    const sk = btf.types[2]!;
    assert.deepEqual(
      sk.members.map((m) => [m.name, m.type, m.offset, m.size]),
      [
        ['mark', 1, 0, 0],
        ['len', 1, 32, 0],
      ],
    );
    assert.equal(sk.members, sk.members, 'members are read once');
  });
}

test('more distinct names than the search budget switch to a name index with the same answers', () => {
  const names = Array.from({ length: 80 }, (_, i) => `t${i}`);
  const { raw } = buildBtf(names.map((n) => int(n, 4)));
  const btf = parseBtf(raw, 'test');
  for (const [i, n] of names.entries()) assert.deepEqual([...btf.idsNamed(n)], [i + 1], n);
  assert.deepEqual([...btf.idsNamed('t1')], [2]);
});

test('a member name offset past the string section fails while parsing, not when members are read', () => {
  const { raw } = buildBtf([int('int', 4), struct('s', 4, [['m', 1, 0]])]);
  const bytes = raw.slice();
  const dv = new DataView(bytes.buffer);
  const typeStart = 24 + dv.getUint32(8, true);
  // Type 1 (INT) is 16 bytes; type 2's first member record starts 12 bytes into it.
  dv.setUint32(typeStart + 16 + 12, 0xffff, true);
  assert.throws(
    () => parseBtf(bytes, 'bad'),
    (e: unknown) => e instanceof InputError && /string offset 65535/.test(String(e)),
  );
});
