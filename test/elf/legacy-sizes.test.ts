// Legacy `maps` definitions of every size: a short bpf_elf_map (iproute2's older 7-field layout) keeps its
// pinning and id, and bytes past the 36 bpfkit knows are refused unless zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../support/env.js';
import { parseObject } from '../../src/elf/index.js';
import { InputError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), `bpfkit-legacy-sizes-${process.pid}-`));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** An object whose one map is defined by `fields` u32s (type ARRAY, key 4, value 8, 2 entries, then `rest`). */
function object(name: string, rest: number[]): Uint8Array {
  const fields = [2, 4, 8, 2, ...rest];
  const src = `
struct def { unsigned int f[${fields.length}]; };
struct def ${name} __attribute__((section("maps"), used)) = { { ${fields.join(', ')} } };
static void *(*lookup)(void *map, const void *key) = (void *)1;
__attribute__((section("classifier"), used)) int cls(void *ctx) { int k = 0; return lookup(&${name}, &k) != 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`;
  const c = join(dir, `${name}.c`);
  const o = join(dir, `${name}.o`);
  writeFileSync(c, src);
  const r = spawnSync('clang', ['-O2', '-target', 'bpf', '-c', c, '-o', o], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(o);
}

test("a 28-byte bpf_elf_map (no inner_id/inner_idx) keeps its id and pinning, as iproute2's fixup reads it", (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  // flags 0, id 7, pinning 2 (PIN_GLOBAL_NS): before, read as a bpf_map_def, and the pinning dropped
  const spec = parseObject(object('old_layout', [0, 7, 2]), { path: 'old.o' });
  const m = spec.maps[0]!;
  assert.equal(m.pinning, 'global');
  assert.equal(m.legacyId, 7);
  assert.equal(m.legacyInnerId, 0);
  assert.deepEqual([m.type, m.keySize, m.valueSize, m.maxEntries, m.flags], [2, 4, 8, 2, 0]);
  // a 24-byte one (bpf_map_def plus one zero u32, which old libbpf took) is a plain map
  assert.equal(parseObject(object('padded', [0, 0]), { path: 'padded.o' }).maps[0]!.pinning, 'none');
});

test('a definition longer than struct bpf_elf_map: zero extra bytes are accepted, any other is refused in one line', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  assert.equal(parseObject(object('longer', [0, 0, 1, 0, 0, 0]), { path: 'longer.o' }).maps[0]!.pinning, 'object');
  assert.throws(
    () => parseObject(object('future', [0, 0, 0, 0, 0, 5]), { path: 'future.o' }),
    (err: unknown) =>
      err instanceof InputError &&
      /^future\.o: section 'maps', map 'future' at 0x0: definition is 40 bytes and byte 36 past struct bpf_elf_map's 36 is not zero/.test(
        err.message,
      ),
  );
});
