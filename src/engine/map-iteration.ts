/**
 * Walking a map the way bpftool does: get-next-key from "no key" until ENOENT, looking each key up.
 * Shared by the VM's maps and the kernel's, which differ only in how one next-key step is taken.
 */
interface NextKeyMap {
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined;
  lookup(key: Uint8Array): Uint8Array | undefined;
}

export function* iterateKeys(map: NextKeyMap): IterableIterator<Uint8Array> {
  let k = map.nextKey(undefined);
  while (k) {
    yield k;
    k = map.nextKey(k);
  }
}

/** Every (key, value) pair in get-next-key order; a key deleted mid-walk is skipped. */
export function* iterateEntries(map: NextKeyMap): IterableIterator<[Uint8Array, Uint8Array]> {
  for (const k of iterateKeys(map)) {
    const v = map.lookup(k);
    if (v) yield [k, v];
  }
}
