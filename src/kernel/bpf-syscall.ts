/**
 * bpf(2) itself: one entry point taking a command and a zero-filled `union bpf_attr` in native memory.
 * The per-command wrappers (prog-load.ts, map-ops.ts, objects.ts, links.ts, test-run.ts, btf-load.ts)
 * fill their part of the union through the layouts in abi/bpf-attr.ts; this file turns a failed call
 * into a typed error.
 */
import { EnvironmentError } from '../util/errors.js';
import { MapError } from '../engine/errors.js';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { KernelError, NotSupportedError, PermissionError } from './errors.js';
import { setCString, type Field } from './abi/index.js';

/** enum bpf_cmd */
export const Cmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  LINK_DETACH: 34,
} as const;

const cmdNames = new Map<number, string>(Object.entries(Cmd).map(([k, v]) => [v, k]));

function syscallNumber(): number {
  switch (process.arch) {
    case 'x64':
      return 321;
    case 'arm64':
      return 280;
    default:
      throw new EnvironmentError(
        `the kernel engine knows bpf(2)'s syscall number on x86_64 and aarch64, not on ${process.arch}`,
      );
  }
}

let nr = -1;
let sys: (nr: number, cmd: number, attr: unknown, size: number) => unknown;

/** Raw call: the result (>= 0) or -errno. Never throws for kernel refusals. */
export function bpfRaw(cmd: number, attr: NativeBuffer): number {
  if (nr < 0) {
    nr = syscallNumber();
    sys = libc().syscall;
  }
  const r = sys(nr, cmd, attr.ptr, attr.size) as number;
  return r < 0 ? -errno() : r;
}

/** Call and throw a typed error on failure; `what` names the operation in the message. */
export function bpf(cmd: number, attr: NativeBuffer, what?: string): number {
  const r = bpfRaw(cmd, attr);
  if (r < 0) throw kernelError(-r, what ?? `bpf(${cmdNames.get(cmd) ?? cmd})`);
  return r;
}

/**
 * errno -> typed error. EPERM/EACCES: privilege. EINVAL/EOPNOTSUPP/ENOTSUPP on a command: the kernel
 * lacks the feature (callers that know better — map operations, program loads — handle errno themselves).
 */
export function kernelError(code: number, what: string, feature?: string): Error {
  const name = errnoName(code);
  if (name === 'EPERM' || name === 'EACCES') return new PermissionError(what, name);
  if (feature && (name === 'EINVAL' || name === 'EOPNOTSUPP' || name === 'ENOTSUPP'))
    return new NotSupportedError(feature, name);
  if (name === 'ENOSYS') return new NotSupportedError('the bpf(2) system call', name);
  return new KernelError(what, name, code);
}

/** The map error both engines throw (ENOENT, EEXIST, E2BIG, EINVAL, EPERM for frozen maps...). */
export function mapError(code: number, mapName: string, op: string): MapError {
  return new MapError(errnoName(code), mapName, op);
}

/** A scratch attr of `size` bytes; callers free it (or keep it for repeated calls). */
export function attr(size: number): NativeBuffer {
  return new NativeBuffer(size);
}

/** Run `fn` with a fresh zeroed attr, freeing it afterwards. */
export function withAttr<T>(size: number, fn: (a: NativeBuffer) => T): T {
  const a = new NativeBuffer(size);
  try {
    return fn(a);
  } finally {
    a.free();
  }
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/** Write an object name into a char[BPF_OBJ_NAME_LEN] field, in the kernel's charset. */
export function writeObjName(attr: Uint8Array, field: Field<'bytes'>, name: string): void {
  // The kernel accepts [A-Za-z0-9_.] only, and at most 15 characters (setCString cuts to size - 1).
  setCString(attr, field, name.replace(/[^A-Za-z0-9_.]/g, '_'));
}
