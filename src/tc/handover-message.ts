/**
 * The bytes of tc's map hand-over (iproute2's `struct bpf_map_aux`, sent with `export UDS_FILE` and read by
 * `tc exec bpf imp`), with no syscall. Each datagram carries up to 64 map fds in its SCM_RIGHTS message and
 * this payload:
 *
 *     u16 uds_ver = 1, u16 num_ent (maps in the whole hand-over), char obj_name[64],
 *     struct { dev_t st_dev; ino_t st_ino; } obj_st (at 72, the object file's identity),
 *     struct bpf_elf_map ent[n] (at 88, 36 bytes each: one per fd of this datagram, in the same order).
 *
 * An object with more than 64 maps takes several datagrams; num_ent tells the receiver how many to expect.
 */
import { InputError } from '../util/errors.js';

/** iproute2's BPF_SCM_AUX_VER. */
export const HANDOVER_VERSION = 1;
/** Fds (and entries) per datagram: iproute2's BPF_SCM_MAX_FDS (ELF_MAX_MAPS). */
export const HANDOVER_MAX_FDS = 64;
/** offsetof(struct bpf_map_aux, ent). */
export const HANDOVER_HEADER_SIZE = 88;
/** sizeof(struct bpf_elf_map): nine u32s. */
export const ELF_MAP_SIZE = 36;
const OBJ_NAME_SIZE = 64;

/** One `struct bpf_elf_map`: the map as the object declared it (tc's legacy map definition). */
export interface ElfMapDef {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** The id agents know the map by: `BPF_MAP<id>` in the hand-over shell's environment. */
  id: number;
  /** 0 none, 1 PIN_OBJECT_NS, 2 PIN_GLOBAL_NS. */
  pinning: number;
  innerId: number;
  innerIdx: number;
}

/** The header every datagram repeats. */
export interface HandoverHeader {
  /** All maps of the hand-over (not just this datagram's). */
  total: number;
  /** The object's file name as tc gives it (truncated to 63 bytes). */
  objName: string;
  /** The object file's st_dev and st_ino. */
  dev: bigint;
  ino: bigint;
}

/** The payloads for `maps` (in fd order), split into datagrams of at most 64 entries. */
export function encodeHandover(header: Omit<HandoverHeader, 'total'>, maps: readonly ElfMapDef[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let first = 0; first < maps.length; first += HANDOVER_MAX_FDS) {
    const part = maps.slice(first, first + HANDOVER_MAX_FDS);
    const b = new Uint8Array(HANDOVER_HEADER_SIZE + ELF_MAP_SIZE * part.length);
    const v = new DataView(b.buffer);
    v.setUint16(0, HANDOVER_VERSION, true);
    v.setUint16(2, maps.length, true);
    const name = Buffer.from(header.objName, 'utf8').subarray(0, OBJ_NAME_SIZE - 1);
    b.set(name, 4);
    v.setBigUint64(72, header.dev, true);
    v.setBigUint64(80, header.ino, true);
    part.forEach((m, i) => {
      const at = HANDOVER_HEADER_SIZE + ELF_MAP_SIZE * i;
      const fields = [m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.id, m.pinning, m.innerId, m.innerIdx];
      fields.forEach((f, j) => v.setUint32(at + 4 * j, f >>> 0, true));
    });
    out.push(b);
  }
  return out;
}

/** Read one datagram's payload; `fdCount` is how many fds came with it (one entry each). */
export function decodeHandover(data: Uint8Array, fdCount: number): { header: HandoverHeader; maps: ElfMapDef[] } {
  if (data.length < HANDOVER_HEADER_SIZE)
    throw new InputError(
      `hand-over datagram of ${data.length} bytes is shorter than its ${HANDOVER_HEADER_SIZE}-byte header`,
    );
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = v.getUint16(0, true);
  if (version !== HANDOVER_VERSION)
    throw new InputError(`hand-over version ${version}, expected ${HANDOVER_VERSION} (iproute2's BPF_SCM_AUX_VER)`);
  if (data.length < HANDOVER_HEADER_SIZE + ELF_MAP_SIZE * fdCount)
    throw new InputError(
      `hand-over datagram has ${fdCount} fds but entries for only ${Math.floor((data.length - HANDOVER_HEADER_SIZE) / ELF_MAP_SIZE)}`,
    );
  const nameBytes = data.subarray(4, 4 + OBJ_NAME_SIZE);
  const end = nameBytes.indexOf(0);
  const header: HandoverHeader = {
    total: v.getUint16(2, true),
    objName: Buffer.from(nameBytes.subarray(0, end < 0 ? OBJ_NAME_SIZE : end)).toString('utf8'),
    dev: v.getBigUint64(72, true),
    ino: v.getBigUint64(80, true),
  };
  const maps: ElfMapDef[] = [];
  for (let i = 0; i < fdCount; i++) {
    const at = HANDOVER_HEADER_SIZE + ELF_MAP_SIZE * i;
    const f = (j: number) => v.getUint32(at + 4 * j, true);
    maps.push({
      type: f(0),
      keySize: f(1),
      valueSize: f(2),
      maxEntries: f(3),
      flags: f(4),
      id: f(5),
      pinning: f(6),
      innerId: f(7),
      innerIdx: f(8),
    });
  }
  return { header, maps };
}

/**
 * The environment `tc exec bpf imp` gives its command: BPF_NUM_MAPS, and BPF_MAP<id> = the fd number the
 * command sees for each map (as tc-bpf(8) shows: BPF_MAP1=6 ...).
 */
export function handoverEnv(maps: readonly { id: number; fd: number }[]): Record<string, string> {
  const env: Record<string, string> = { BPF_NUM_MAPS: String(maps.length) };
  for (const m of maps) env[`BPF_MAP${m.id}`] = String(m.fd);
  return env;
}
