/**
 * Reopen objects that outlive processes: pinned maps and programs on bpffs, or any by kernel id.
 * The kernel tells us each object's shape (OBJ_GET_INFO_BY_FD), so nothing but the path is needed.
 */
import { EnvironmentError } from '../util/errors.js';
import { KernelMap } from './kernel-map.js';
import { KernelProgram } from './kernel-program.js';
import { closeFd, fdById, getPinned, mapInfo, progInfo } from './objects.js';

function open(path: string): number {
  const fd = getPinned(path);
  if (fd === undefined) throw new EnvironmentError(`nothing is pinned at ${path}`);
  return fd;
}

export function mapFromFd(fd: number, name?: string): KernelMap {
  try {
    const info = mapInfo(fd);
    return new KernelMap(fd, { ...info, name: name ?? info.name });
  } catch (err) {
    closeFd(fd);
    throw new EnvironmentError(`fd ${fd} is not a BPF map: ${(err as Error).message}`);
  }
}

export function programFromFd(fd: number, name?: string): KernelProgram {
  try {
    const info = progInfo(fd);
    return new KernelProgram(fd, name ?? info.name, info.type);
  } catch (err) {
    closeFd(fd);
    throw new EnvironmentError(`fd ${fd} is not a BPF program: ${(err as Error).message}`);
  }
}

export function openPinnedMap(path: string): KernelMap {
  return mapFromFd(open(path), path.split('/').pop());
}

export function openPinnedProgram(path: string): KernelProgram {
  return programFromFd(open(path), path.split('/').pop());
}

export function openMapById(id: number): KernelMap {
  const fd = fdById('map', id);
  if (fd === undefined) throw new EnvironmentError(`no map with id ${id}`);
  return mapFromFd(fd);
}

export function openProgramById(id: number): KernelProgram {
  const fd = fdById('prog', id);
  if (fd === undefined) throw new EnvironmentError(`no program with id ${id}`);
  return programFromFd(fd);
}
