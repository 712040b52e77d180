/** A MapSpec with the loader's defaults for everything a test does not name (tests build specs by hand). */
import type { MapSpec } from '../../src/elf/spec.js';

/** The spec of map `name`; `extra` overrides any other field (flags, pinning, contents…). */
export function mapSpec(
  name: string,
  type: number,
  keySize: number,
  valueSize: number,
  maxEntries: number,
  extra: Partial<MapSpec> = {},
): MapSpec {
  return {
    name,
    type,
    keySize,
    valueSize,
    maxEntries,
    flags: 0,
    pinning: 'none',
    contents: [],
    frozen: false,
    section: '.maps',
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    ...extra,
  };
}
