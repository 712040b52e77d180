/**
 * Kernel objects by path and by id: BPF_OBJ_PIN / BPF_OBJ_GET on bpffs (mounted on demand),
 * BPF_OBJ_GET_INFO_BY_FD for programs, maps and links, and the *_GET_NEXT_ID / *_GET_FD_BY_ID walks
 * `bpfkit prog show` and `bpfkit map dump ID` use.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvironmentError } from '../util/errors.js';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { Cmd, bpfRaw, closeFd, kernelError, withAttr } from './bpf-syscall.js';
import {
  BPF_ATTR,
  BPF_LINK_INFO,
  BPF_MAP_INFO,
  BPF_PROG_INFO,
  getBits,
  getBytes,
  getCString,
  getU32,
  getU64,
  setAddress,
  setU32,
  type Layout,
} from './abi/index.js';

export const BPFFS = '/sys/fs/bpf';

// ---- bpffs ----

function isBpffs(dir: string): boolean {
  try {
    // /proc/self/mounts lists every mount; a bpf mount on `dir` or on a parent of it will do.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '));
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
  const { size, fields: f } = BPF_ATTR.obj;
  const r = withPath(path, (p) =>
    withAttr(size, (a) => {
      setAddress(a.view, f.pathname, p);
      setU32(a.view, f.bpf_fd, fd);
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
  const { size, fields: f } = BPF_ATTR.obj;
  const r = withPath(path, (p) =>
    withAttr(size, (a) => {
      setAddress(a.view, f.pathname, p);
      setU32(a.view, f.file_flags, flags);
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

/** BPF_OBJ_GET_INFO_BY_FD into `info` (sized for `layout`); the kernel's result, or -errno. */
function getInfoInto(fd: number, layout: Layout, info: NativeBuffer): number {
  const { size, fields: f } = BPF_ATTR.info;
  return withAttr(size, (a) => {
    setU32(a.view, f.bpf_fd, fd);
    setU32(a.view, f.info_len, layout.size);
    setAddress(a.view, f.info, info);
    return bpfRaw(Cmd.OBJ_GET_INFO_BY_FD, a);
  });
}

function getInfo(fd: number, layout: Layout, what: string): NativeBuffer {
  const info = new NativeBuffer(layout.size);
  const r = getInfoInto(fd, layout, info);
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

/** Read a program's info by fd (BPF_OBJ_GET_INFO_BY_FD), with the ids of the maps it uses. */
export function progInfo(fd: number): ProgInfo {
  const f = BPF_PROG_INFO.fields;
  let info = getInfo(fd, BPF_PROG_INFO, 'program');
  try {
    let v = info.view;
    const nMaps = getU32(v, f.nr_map_ids);
    let mapIds: number[] = [];
    if (nMaps > 0) {
      // Second call with a buffer for the map ids.
      const ids = new NativeBuffer(nMaps * 4);
      try {
        const again = new NativeBuffer(BPF_PROG_INFO.size);
        setU32(again.view, f.nr_map_ids, nMaps);
        setAddress(again.view, f.map_ids, ids);
        const r = getInfoInto(fd, BPF_PROG_INFO, again);
        if (r >= 0) {
          info.free();
          info = again;
          v = info.view;
          const n = Math.min(nMaps, getU32(v, f.nr_map_ids));
          mapIds = Array.from({ length: n }, (_, i) => ids.view.getUint32(i * 4, true));
        } else {
          again.free();
        }
      } finally {
        ids.free();
      }
    }
    return {
      type: getU32(v, f.type),
      id: getU32(v, f.id),
      tag: Buffer.from(getBytes(info.bytes, f.tag)).toString('hex'),
      jitedLen: getU32(v, f.jited_prog_len),
      xlatedLen: getU32(v, f.xlated_prog_len),
      loadTime: getU64(v, f.load_time),
      uid: getU32(v, f.created_by_uid),
      gplCompatible: getBits(v, f.gpl_compatible) === 1,
      mapIds,
      name: getCString(info.bytes, f.name),
      btfId: getU32(v, f.btf_id),
      runTimeNs: getU64(v, f.run_time_ns),
      runCount: getU64(v, f.run_cnt),
      verifiedInsns: getU32(v, f.verified_insns),
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
  /** struct_ops maps: the kernel BTF id of their value type (`bpf_struct_ops_<name>`); 0 for others. */
  btfVmlinuxValueTypeId: number;
}

/** Read a map's info by fd (BPF_OBJ_GET_INFO_BY_FD). */
export function mapInfo(fd: number): MapInfo {
  const f = BPF_MAP_INFO.fields;
  const info = getInfo(fd, BPF_MAP_INFO, 'map');
  try {
    const v = info.view;
    return {
      type: getU32(v, f.type),
      id: getU32(v, f.id),
      keySize: getU32(v, f.key_size),
      valueSize: getU32(v, f.value_size),
      maxEntries: getU32(v, f.max_entries),
      flags: getU32(v, f.map_flags),
      name: getCString(info.bytes, f.name),
      btfId: getU32(v, f.btf_id),
      btfVmlinuxValueTypeId: getU32(v, f.btf_vmlinux_value_type_id),
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
  const f = BPF_LINK_INFO.fields;
  const info = getInfo(fd, BPF_LINK_INFO, 'link');
  try {
    const v = info.view;
    const out: LinkInfo = { type: getU32(v, f.type), id: getU32(v, f.id), progId: getU32(v, f.prog_id) };
    if (out.type === LinkType.XDP) out.ifindex = getU32(v, f['xdp.ifindex']);
    if (out.type === LinkType.TCX) {
      out.ifindex = getU32(v, f['tcx.ifindex']);
      out.attachType = getU32(v, f['tcx.attach_type']);
    }
    if (out.type === LinkType.NETKIT) {
      out.ifindex = getU32(v, f['netkit.ifindex']);
      out.attachType = getU32(v, f['netkit.attach_type']);
    }
    return out;
  } finally {
    info.free();
  }
}

// ---- ids ----

/** The kinds of kernel BPF object that have ids. */
export type ObjectKind = 'prog' | 'map' | 'link' | 'btf';
const nextIdCmd = {
  prog: Cmd.PROG_GET_NEXT_ID,
  map: Cmd.MAP_GET_NEXT_ID,
  link: Cmd.LINK_GET_NEXT_ID,
  btf: Cmd.BTF_GET_NEXT_ID,
};
const fdByIdCmd = {
  prog: Cmd.PROG_GET_FD_BY_ID,
  map: Cmd.MAP_GET_FD_BY_ID,
  link: Cmd.LINK_GET_FD_BY_ID,
  btf: Cmd.BTF_GET_FD_BY_ID,
};
const idField = { prog: 'prog_id', map: 'map_id', link: 'link_id', btf: 'btf_id' } as const;

/** Every id of a kind the kernel holds, ascending. */
export function listIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  let id = 0;
  const { size, fields: f } = BPF_ATTR.get_id;
  for (;;) {
    const r = withAttr(size, (a) => {
      setU32(a.view, f.start_id, id);
      const rc = bpfRaw(nextIdCmd[kind], a);
      if (rc >= 0) id = getU32(a.view, f.next_id);
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
  const { size, fields: f } = BPF_ATTR.get_id;
  const r = withAttr(size, (a) => {
    setU32(a.view, f[idField[kind]], id);
    return bpfRaw(fdByIdCmd[kind], a);
  });
  if (r < 0) {
    if (errnoName(-r) === 'ENOENT') return undefined;
    throw kernelError(-r, `opening ${kind} id ${id}`);
  }
  return r;
}

export { closeFd };
