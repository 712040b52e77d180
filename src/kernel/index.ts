/**
 * The kernel engine (`bpfkit/kernel`, docs/kernel.md). Importing this loads koffi; nothing touches the kernel
 * until a function is called.
 *
 * @module bpfkit/kernel
 */
export { loadKernelCollection, KernelCollection, DEFAULT_PIN_PATH, type KernelLoadOptions } from './collection.js';
export { KernelProgram } from './kernel-program.js';
export { KernelMap } from './kernel-map.js';
export { KernelLink, attachTcx, attachXdp, XdpFlags } from './links.js';
export { StructOpsRegistration } from './struct-ops.js';
export { openPinnedMap, openPinnedProgram, openMapById, openProgramById, mapFromFd, programFromFd } from './pinned.js';
export { ClassicFilterProbe, type ClassicVerdict } from './classic-filter-probe.js';
export { PacketSocket, type LivePacket, type PacketSocketOptions, type ClassicInsn } from './packet-socket.js';
export type { RingOptions } from './packet-ring.js';
export { loadProgram, type ProgLoadRequest, type ProgLoadResult } from './prog-load.js';
export { kernelHelperProbe } from './helper-probe.js';
export { createMap, type MapCreateRequest } from './map-ops.js';
export {
  progInfo,
  mapInfo,
  linkInfo,
  listIds,
  fdById,
  pinObject,
  getPinned,
  ensureBpffs,
  LinkType,
  type ObjectKind,
  type ProgInfo,
  type MapInfo,
  type LinkInfo,
} from './objects.js';
export { VerifierError, NotSupportedError, PermissionError, KernelError } from './errors.js';
export { possibleCpus } from './cpus.js';
export { closeAll, liveCount } from './lifecycle.js';
export { interfaceIndex, interfaceName } from './libc.js';
