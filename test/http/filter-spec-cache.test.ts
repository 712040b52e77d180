// The URL filters' parsed objects cached beside them (filter-spec-cache.ts): each committed cache is
// current and gives exactly what the ELF parser gives; a cache that does not match its object is ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bpfObjectPath, parseFilterObject } from '../../src/apps/http/filter-engine.js';
import { readCachedSpec, specCacheText } from '../../src/apps/http/filter-spec-cache.js';
import { parseObject } from '../../src/elf/index.js';

for (const mode of ['full', 'v1', 'v2']) {
  test(`${mode}: the committed spec cache is current and equals the parsed object`, async () => {
    const path = bpfObjectPath(mode);
    const bytes = new Uint8Array(readFileSync(path));
    const cached = readCachedSpec(path, bytes);
    assert.ok(cached, `${path}: no current cache beside it (rebuild with tools/build-http-bpf.sh)`);
    assert.deepStrictEqual(cached, parseObject(bytes, path));
    // what bpfkit urls loads is that cache
    assert.deepStrictEqual(await parseFilterObject(mode), cached);
  });
}

test('a cache made from other bytes than the object beside it is not used', () => {
  const path = bpfObjectPath('full');
  const bytes = new Uint8Array(readFileSync(path));
  const changed = bytes.slice();
  changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
  assert.equal(readCachedSpec(path, changed), undefined);
  // and the cache text round-trips the spec it was written from
  const spec = parseObject(bytes, path);
  const text = specCacheText(spec, bytes);
  assert.match(text, new RegExp(`"digest":"${bytes.length}:[0-9a-f]{16}"`));
});
