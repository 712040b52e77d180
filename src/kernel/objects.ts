/**
 * Kernel objects by path and by id: BPF_OBJ_PIN / BPF_OBJ_GET on bpffs (mounted on demand),
 * BPF_OBJ_GET_INFO_BY_FD for programs, maps and links, and the *_GET_NEXT_ID / *_GET_FD_BY_ID walks
 * `bpfkit prog show` and `bpfkit map dump ID` use.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvironmentError } from '../util/errors.js';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { Cmd, bpfRaw, closeFd, kernelError, readCString, withAttr } from './bpf-syscall.js';

export const BPFFS = '/sys/fs/bpf';

// ---- bpffs ----

function isBpffs(dir: string): boolean {
  try {
    // /proc/self/mounts lists every mount; a bpf mount on `dir` or on a parent of it will do.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    return mounts.some((m) => m[2] === 'bpf' && (dir === m[1] || dir.startsWith(`${m[1]}/`)));
  } catch {
    return false;
  }
}

/** Make sure `path`'s directory is on bpffs: mount /sys/fs/bpf when nothing is mounted, then mkdir -p. */
export function ensureBpffs(dir: string): void {
  if (!isBpffs(dir)) {
    if (!dir.startsWith(`${BPFFS}/`) && dir !== BPFFS) {
      throw new EnvironmentError(`${dir} is not on a bpf filesystem (pin under ${BPFFS})`);
    }
    if (!isBpffs(BPFFS)) mountBpffs();
  }
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new EnvironmentError(`cannot create ${dir} on bpffs: ${(err as Error).message}`);
    }
  }
}

export function mountBpffs(): void {
  if (!existsSync(BPFFS)) throw new EnvironmentError(`${BPFFS} does not exist: is sysfs mounted?`);
  const r = libc().mount('bpf', BPFFS, 'bpf', 0, null) as number;
  if (r < 0) {
    const name = errnoName(errno());
    throw new EnvironmentError(
      `bpffs is not mounted on ${BPFFS} and mounting it failed (${name}); run 'mount -t bpf bpf ${BPFFS}' as root`,
    );
  }
}

// ---- pin / get ----

function withPath<T>(path: string, fn: (p: NativeBuffer) => T): T {
  const p = NativeBuffer.from(new TextEncoder().encode(`${path}\0`));
  try {
    return fn(p);
  } finally {
    p.free();
  }
}

/** Pin `fd` at `path` (directories are created). Throws when the path exists. */
export function pinObject(fd: number, path: string): void {
  ensureBpffs(dirname(path));
  const r = withPath(path, (p) =>
    withAttr(24, (a) => {
      a.view.setBigUint64(0, p.address, true);
      a.view.setUint32(8, fd, true);
      return bpfRaw(Cmd.OBJ_PIN, a);
    }),
  );
  if (r < 0) {
    const name = errnoName(-r);
    if (name === 'EEXIST') throw new EnvironmentError(`cannot pin at ${path}: it already exists`);
    throw kernelError(-r, `pinning at ${path}`);
  }
}

/** Open a pinned object; undefined when nothing is pinned there. */
export function getPinned(path: string, flags = 0): number | undefined {
  const r = withPath(path, (p) =>
    withAttr(24, (a) => {
      a.view.setBigUint64(0, p.address, true);
      a.view.setUint32(12, flags, true);
      return bpfRaw(Cmd.OBJ_GET, a);
    }),
  );
  if (r < 0) {
    if (errnoName(-r) === 'ENOENT') return undefined;
    throw kernelError(-r, `opening pinned object ${path}`);
  }
  return r;
}

// ---- info ----

function getInfo(fd: number, size: number, what: string): NativeBuffer {
  const info = new NativeBuffer(size);
  const r = withAttr(16, (a) => {
    a.view.setUint32(0, fd, true);
    a.view.setUint32(4, size, true);
    a.view.setBigUint64(8, info.address, true);
    return bpfRaw(Cmd.OBJ_GET_INFO_BY_FD, a);
  });
  if (r < 0) {
    info.free();
    throw kernelError(-r, `reading ${what} info`);
  }
  return info;
}

/** The part of `struct bpf_prog_info` that bpfkit reads. */
export interface ProgInfo {
  type: number;
  id: number;
  tag: string;
  name: string;
  /** Nanoseconds since boot. */
  loadTime: bigint;
  uid: number;
  gplCompatible: boolean;
  mapIds: number[];
  jitedLen: number;
  xlatedLen: number;
  btfId: number;
  runTimeNs: bigint;
  runCount: bigint;
  verifiedInsns: number;
}

// struct bpf_prog_info offsets.
const PROG_INFO_SIZE = 232;

/** Read a program's info by fd (BPF_OBJ_GET_INFO_BY_FD). */
export function progInfo(fd: number): ProgInfo {
  let info = getInfo(fd, PROG_INFO_SIZE, 'program');
  try {
    let v = info.view;
    const nMaps = v.getUint32(52, true);
    let mapIds: number[] = [];
    if (nMaps > 0) {
      // Second call with a buffer for the map ids.
      const ids = new NativeBuffer(nMaps * 4);
      try {
        const again = new NativeBuffer(PROG_INFO_SIZE);
        again.view.setUint32(52, nMaps, true);
        again.view.setBigUint64(56, ids.address, true);
        const r = withAttr(16, (a) => {
          a.view.setUint32(0, fd, true);
          a.view.setUint32(4, PROG_INFO_SIZE, true);
          a.view.setBigUint64(8, again.address, true);
          return bpfRaw(Cmd.OBJ_GET_INFO_BY_FD, a);
        });
        if (r >= 0) {
          info.free();
          info = again;
          v = info.view;
          const n = Math.min(nMaps, v.getUint32(52, true));
          mapIds = Array.from({ length: n }, (_, i) => ids.view.getUint32(i * 4, true));
        } else {
          again.free();
        }
      } finally {
        ids.free();
      }
    }
    const tag = Buffer.from(info.bytes.subarray(8, 16)).toString('hex');
    return {
      type: v.getUint32(0, true),
      id: v.getUint32(4, true),
      tag,
      jitedLen: v.getUint32(16, true),
      xlatedLen: v.getUint32(20, true),
      loadTime: v.getBigUint64(40, true),
      uid: v.getUint32(48, true),
      gplCompatible: (v.getUint32(84, true) & 1) === 1,
      mapIds,
      name: readCString(info.bytes, 64, 16),
      btfId: v.getUint32(128, true),
      runTimeNs: v.getBigUint64(192, true),
      runCount: v.getBigUint64(200, true),
      verifiedInsns: v.getUint32(216, true),
    };
  } finally {
    info.free();
  }
}

/** The part of `struct bpf_map_info` that bpfkit reads. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  btfId: number;
}

/** Read a map's info by fd (BPF_OBJ_GET_INFO_BY_FD). */
export function mapInfo(fd: number): MapInfo {
  const info = getInfo(fd, 88, 'map');
  try {
    const v = info.view;
    return {
      type: v.getUint32(0, true),
      id: v.getUint32(4, true),
      keySize: v.getUint32(8, true),
      valueSize: v.getUint32(12, true),
      maxEntries: v.getUint32(16, true),
      flags: v.getUint32(20, true),
      name: readCString(info.bytes, 24, 16),
      btfId: v.getUint32(64, true),
    };
  } finally {
    info.free();
  }
}

/** The part of `struct bpf_link_info` that bpfkit reads. */
export interface LinkInfo {
  /** enum bpf_link_type: XDP 6, TCX 11, ... */
  type: number;
  id: number;
  progId: number;
  /** XDP and TCX links: the interface. */
  ifindex?: number;
  /** TCX links: BPF_TCX_INGRESS / BPF_TCX_EGRESS. */
  attachType?: number;
}

/** BPF_LINK_TYPE_* numbers of the links bpfkit makes or shows. */
export const LinkType = { XDP: 6, TCX: 11, NETKIT: 13 } as const;

/** Read a link's info by fd (BPF_OBJ_GET_INFO_BY_FD). */
export function linkInfo(fd: number): LinkInfo {
  const info = getInfo(fd, 128, 'link');
  try {
    const v = info.view;
    const out: LinkInfo = { type: v.getUint32(0, true), id: v.getUint32(4, true), progId: v.getUint32(8, true) };
    if (out.type === LinkType.XDP || out.type === LinkType.TCX || out.type === LinkType.NETKIT) out.ifindex = v.getUint32(16, true);
    if (out.type === LinkType.TCX || out.type === LinkType.NETKIT) out.attachType = v.getUint32(20, true);
    return out;
  } finally {
    info.free();
  }
}

// ---- ids ----

/** The kinds of kernel BPF object that have ids. */
export type ObjectKind = 'prog' | 'map' | 'link' | 'btf';
const nextIdCmd = { prog: Cmd.PROG_GET_NEXT_ID, map: Cmd.MAP_GET_NEXT_ID, link: Cmd.LINK_GET_NEXT_ID, btf: Cmd.BTF_GET_NEXT_ID };
const fdByIdCmd = { prog: Cmd.PROG_GET_FD_BY_ID, map: Cmd.MAP_GET_FD_BY_ID, link: Cmd.LINK_GET_FD_BY_ID, btf: Cmd.BTF_GET_FD_BY_ID };

/** Every id of a kind the kernel holds, ascending. */
export function listIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  let id = 0;
  for (;;) {
    const r = withAttr(16, (a) => {
      a.view.setUint32(0, id, true);
      const rc = bpfRaw(nextIdCmd[kind], a);
      if (rc >= 0) id = a.view.getUint32(4, true);
      return rc;
    });
    if (r < 0) {
      if (errnoName(-r) === 'ENOENT') return ids;
      throw kernelError(-r, `listing ${kind} ids`);
    }
    ids.push(id);
  }
}

/** An fd for the object with this id; undefined when it no longer exists. */
export function fdById(kind: ObjectKind, id: number): number | undefined {
  const r = withAttr(16, (a) => {
    a.view.setUint32(0, id, true);
    return bpfRaw(fdByIdCmd[kind], a);
  });
  if (r < 0) {
    if (errnoName(-r) === 'ENOENT') return undefined;
    throw kernelError(-r, `opening ${kind} id ${id}`);
  }
  return r;
}

export { closeFd };
