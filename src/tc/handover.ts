/**
 * tc's map hand-over over a Unix domain socket, both ends: `exportMaps` is what `filter add … bpf obj F
 * export UDS_FILE` does once the object is loaded (the maps' fds and definitions, before the filter is
 * installed, as iproute2 does), and `receiveMaps` is the agent's side (`tc exec bpf imp UDS_FILE`): bind
 * the socket file, wait for the exporter, keep the fds. Interoperates with iproute2's `tc exec bpf imp`.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { sendDatagramsWithFds, FdReceiver } from '../kernel/unix-socket.js';
import { closeFd } from '../kernel/objects.js';
import { BpfkitError, UsageError } from '../util/errors.js';
import {
  encodeHandover,
  decodeHandover,
  handoverEnv,
  HANDOVER_HEADER_SIZE,
  HANDOVER_MAX_FDS,
  ELF_MAP_SIZE,
  type ElfMapDef,
} from './handover-message.js';
import type { ExportableMap } from './load-program.js';

/** Send an object's maps to the importer waiting at `socketPath`. */
export function exportMaps(socketPath: string, objectPath: string, maps: readonly ExportableMap[]): void {
  if (maps.length === 0) throw new UsageError(`export ${socketPath}: ${objectPath} has no maps to hand over`);
  let dev = 0n;
  let ino = 0n;
  try {
    const st = statSync(objectPath, { bigint: true });
    dev = st.dev;
    ino = st.ino;
  } catch {
    // The object was read a moment ago; an identity of zeros only makes the agent's check weaker.
  }
  const payloads = encodeHandover(
    { objName: basename(objectPath), dev, ino },
    maps.map((m) => m.def),
  );
  sendDatagramsWithFds(
    socketPath,
    payloads.map((data, i) => ({
      data,
      fds: maps.slice(i * HANDOVER_MAX_FDS, (i + 1) * HANDOVER_MAX_FDS).map((m) => m.fd),
    })),
  );
}

/** Maps received from an exporter: each fd is this process's own until `close()`. */
export interface ReceivedMaps {
  objName: string;
  dev: bigint;
  ino: bigint;
  maps: { fd: number; def: ElfMapDef }[];
  /** BPF_NUM_MAPS and BPF_MAP<id> for fds numbered from `firstFd` in a child (the order of `maps`). */
  env(firstFd: number): Record<string, string>;
  /** Close every received fd. */
  close(): void;
}

/**
 * Bind `socketPath` (a new file), wait for one exporter's hand-over and return its maps; the socket file is
 * removed afterwards in every case. `signal` (SIGINT, a timeout) abandons the wait.
 */
export async function receiveMaps(socketPath: string, opts: { signal?: AbortSignal } = {}): Promise<ReceivedMaps> {
  const receiver = FdReceiver.bind(socketPath);
  const maps: { fd: number; def: ElfMapDef }[] = [];
  let header: { objName: string; dev: bigint; ino: bigint; total: number } | undefined;
  try {
    do {
      const got = await receiver.receive(
        HANDOVER_HEADER_SIZE + ELF_MAP_SIZE * HANDOVER_MAX_FDS,
        HANDOVER_MAX_FDS,
        opts.signal,
      );
      try {
        if (got.truncated) throw new BpfkitError(`hand-over at ${socketPath}: datagram or fds truncated`);
        if (got.fds.length === 0) throw new BpfkitError(`hand-over at ${socketPath}: a datagram without map fds`);
        const d = decodeHandover(got.data, got.fds.length);
        header ??= d.header;
        d.maps.forEach((def, i) => maps.push({ fd: got.fds[i]!, def }));
      } catch (err) {
        for (const fd of got.fds) if (!maps.some((m) => m.fd === fd)) closeFd(fd);
        throw err;
      }
      if (maps.length > header.total)
        throw new BpfkitError(
          `hand-over at ${socketPath}: ${maps.length} maps arrived, the header announced ${header.total}`,
        );
    } while (maps.length < header.total);
  } catch (err) {
    for (const m of maps) closeFd(m.fd);
    throw err;
  } finally {
    receiver.close();
  }
  const h = header;
  return {
    objName: h.objName,
    dev: h.dev,
    ino: h.ino,
    maps,
    env: (firstFd) => handoverEnv(maps.map((m, i) => ({ id: m.def.id, fd: firstFd + i }))),
    close: () => {
      for (const m of maps.splice(0)) closeFd(m.fd);
    },
  };
}
