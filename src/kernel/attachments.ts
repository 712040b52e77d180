/**
 * Persistent attachments for the CLI: `bpfkit attach` pins the link (and the program and maps) in a
 * directory named after the interface and hook, so the program stays attached after the command exits;
 * `bpfkit detach` finds that directory, detaches the link and removes the pins.
 */
import { existsSync, rmSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { AttachType } from '../uapi/types.js';
import { KernelLink } from './links.js';
import { closeFd, fdById, getPinned, linkInfo, listIds, LinkType } from './objects.js';
import { DEFAULT_PIN_PATH } from './collection.js';

export type Hook = 'tc-ingress' | 'tc-egress' | 'xdp';

export function defaultAttachDir(ifname: string, hook: Hook): string {
  return `${DEFAULT_PIN_PATH}/attach/${ifname}-${hook}`;
}

/** Links on `ifindex` at `hook` (any owner), by id. */
export function linksAt(ifindex: number, hook: Hook): number[] {
  const out: number[] = [];
  for (const id of listIds('link')) {
    const fd = fdById('link', id);
    if (fd === undefined) continue;
    try {
      const info = linkInfo(fd);
      if (info.ifindex !== ifindex) continue;
      if (hook === 'xdp' && info.type === LinkType.XDP) out.push(id);
      if (hook !== 'xdp' && info.type === LinkType.TCX) {
        const want = hook === 'tc-ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
        if (info.attachType === want) out.push(id);
      }
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

/** Detach what `bpfkit attach` pinned in `dir` and remove the pins. False when nothing is pinned there. */
export function detachPinned(dir: string): boolean {
  const path = `${dir}/link`;
  if (!existsSync(path)) return false;
  const fd = getPinned(path);
  if (fd === undefined) return false;
  new KernelLink(fd, `link pinned at ${path}`).detach();
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Detach a link by id (for links bpfkit did not pin). */
export function detachById(id: number): void {
  const fd = fdById('link', id);
  if (fd === undefined) throw new InputError(`no link with id ${id}`);
  new KernelLink(fd, `link id ${id}`).detach();
}
