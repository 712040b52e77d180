/**
 * Reopen objects that outlive processes: pinned maps and programs on bpffs, or any by kernel id.
 * The kernel tells us each object's shape (OBJ_GET_INFO_BY_FD), so nothing but the path is needed.
 */
import { EnvironmentError, InputError } from '../util/errors.js';
import { KernelMap } from './kernel-map.js';
import { KernelProgram } from './kernel-program.js';
import { closeFd, fdById, getPinned, mapInfo, progInfo } from './objects.js';

function open(path: string): number {
  const fd = getPinned(path);
  if (fd === undefined) throw new InputError(`nothing is pinned at ${path}`);
  return fd;
}

/** A KernelMap for a map fd you already hold (the map takes the fd over). */
export function mapFromFd(fd: number, name?: string): KernelMap {
  try {
    const info = mapInfo(fd);
    return new KernelMap(fd, { ...info, name: name ?? info.name });
  } catch (err) {
    closeFd(fd);
    throw new EnvironmentError(`fd ${fd} is not a BPF map: ${(err as Error).message}`);
  }
}

/** A KernelProgram for a program fd you already hold (the program takes the fd over). */
export function programFromFd(fd: number, name?: string): KernelProgram {
  try {
    const info = progInfo(fd);
    return new KernelProgram(fd, name ?? info.name, info.type);
  } catch (err) {
    closeFd(fd);
    throw new EnvironmentError(`fd ${fd} is not a BPF program: ${(err as Error).message}`);
  }
}

/** Open the map pinned at `path` on bpffs. */
export function openPinnedMap(path: string): KernelMap {
  return mapFromFd(open(path), path.split('/').pop());
}

/** Open the program pinned at `path` on bpffs. */
export function openPinnedProgram(path: string): KernelProgram {
  return programFromFd(open(path), path.split('/').pop());
}

/** Open a map by its kernel id. */
export function openMapById(id: number): KernelMap {
  const fd = fdById('map', id);
  if (fd === undefined) throw new InputError(`no map with id ${id}`);
  return mapFromFd(fd);
}

/** Open a program by its kernel id. */
export function openProgramById(id: number): KernelProgram {
  const fd = fdById('prog', id);
  if (fd === undefined) throw new InputError(`no program with id ${id}`);
  return programFromFd(fd);
}
