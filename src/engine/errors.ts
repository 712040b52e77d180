/**
 * Map errors shared by both engines: the VM's maps and the kernel engine throw the same class with the
 * same errno name for the same failure, so callers (and tests comparing engines) can match on `errno`.
 */
import { BpfkitError } from '../util/errors.js';

/** errno numbers the map operations report (Linux values). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;
/** The errno names bpfkit's maps report (ENOENT, EEXIST, E2BIG, ...). */
export type ErrnoName = keyof typeof Errno;

const messages: Record<string, string> = {
  ENOENT: 'no such element',
  EEXIST: 'element already exists',
  E2BIG: 'map is full or index out of range',
  EINVAL: 'invalid argument',
  EPERM: 'operation not permitted',
  EOPNOTSUPP: 'operation not supported on this map type',
  ENOTSUPP: 'operation not supported on this map type',
  EBUSY: 'busy',
  ENOSPC: 'no space left',
};

export class MapError extends BpfkitError {
  /** The errno name, e.g. 'ENOENT'. */
  readonly errno: string;
  /** The errno number (positive), e.g. 2. */
  readonly errnoNumber: number;
  constructor(errno: string, mapName: string, op: string, detail?: string) {
    super(`map '${mapName}': ${op}: ${errno} (${detail ?? messages[errno] ?? 'error'})`);
    this.errno = errno;
    this.errnoNumber = (Errno as Record<string, number>)[errno] ?? 0;
  }
}

/** Name of a positive errno number ('ENOENT' for 2), or `errno N`. */
export function errnoName(n: number): string {
  for (const [k, v] of Object.entries(Errno)) if (v === n) return k;
  return `errno ${n}`;
}
