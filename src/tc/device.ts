/** Device names to indexes and back, with tc's wording when a device does not exist. */
import { libc, interfaceName } from '../kernel/libc.js';
import { InputError } from '../util/errors.js';

let cache: Map<string, number> | undefined;

/**
 * Remember name → index lookups until turned off again, as iproute2's batch mode does: a thousand-line batch
 * then asks the kernel once per device instead of once per line (if_nametoindex opens a socket each time).
 */
export function cacheDeviceIndexes(on: boolean): void {
  cache = on ? new Map() : undefined;
}

/** The index of device `name`, or an InputError (exit 2) saying it cannot be found. */
export function deviceIndex(name: string): number {
  const known = cache?.get(name);
  if (known !== undefined) return known;
  if (name.length >= 16) throw new InputError(`device name '${name}' is longer than 15 characters`, 'dev');
  const idx = libc().if_nametoindex(name) as number;
  if (!idx) throw new InputError(`cannot find device "${name}"`, 'dev');
  cache?.set(name, idx);
  return idx;
}

/** The name of device `index` (or "if<index>" when it went away). */
export function deviceName(index: number): string {
  return interfaceName(index) ?? `if${index}`;
}
