/**
 * What BPF_F_SLEEPABLE changes that bpfkit models: a syscall program must be sleepable
 * (check_attach_btf_id), and a sleepable program may name only the maps that can be used outside an RCU
 * read section (check_map_prog_compatibility). Of the other types bpfkit models, kprobes (uprobes) may be
 * sleepable too: the helpers that may sleep are not modelled, so the maps are what changes. The types the
 * kernel never lets sleep are refused (can_be_sleepable); sleepable programs of the rest are not modelled.
 */
import { MapType, ProgType } from '../uapi/types.js';
import { SYSCALL } from './ctx-more.js';
import type { VerifierMap } from './state.js';

/** Map types a sleepable program may use: arrays, hashes (and maps of them), ring buffers, local storage, queues, arenas. */
const SLEEPABLE_MAPS: ReadonlySet<number> = new Set([
  MapType.HASH,
  MapType.LRU_HASH,
  MapType.ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
  MapType.INODE_STORAGE,
  MapType.SK_STORAGE,
  MapType.TASK_STORAGE,
  MapType.CGRP_STORAGE,
  MapType.QUEUE,
  MapType.STACK,
  MapType.ARENA,
]);

/**
 * check_map_prog_compatibility's last check: the refusal for a map a sleepable program may not name (in
 * Linux 6.18's words, which hold inner maps to it too; a map of maps whose inner map fails is not modelled).
 */
export function sleepableMapUse(map: VerifierMap, sleepable: boolean): string | undefined {
  if (!sleepable) return undefined;
  if (!SLEEPABLE_MAPS.has(map.type))
    return 'Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps';
  if (map.inner && !SLEEPABLE_MAPS.has(map.inner.type))
    return `bpfkit: a sleepable program naming a map of maps whose inner maps are of type ${map.inner.type} is not modelled`;
  return undefined;
}

/** enum bpf_attach_type: the tracing attach types can_be_sleepable lets sleep, and LSM's cgroup one it does not. */
const SLEEPABLE_TRACING: readonly number[] = [24, 25, 26, 28]; // fentry, fexit, fmod_ret, iter
const LSM_CGROUP = 43;
const PROG_TRACING = 26;
const PROG_LSM = 29;
const PROG_STRUCT_OPS = 27;

/**
 * can_be_sleepable: fentry, fexit, fmod_ret and iterator tracing programs, LSM programs but cgroup ones,
 * kprobes (the kernel holds them to uprobes when they attach) and struct_ops programs may be loaded
 * sleepable; the kernel refuses BPF_F_SLEEPABLE on every other type (syscall programs aside).
 */
function canBeSleepable(type: number, attach: number | undefined): boolean {
  if (type === PROG_TRACING) return SLEEPABLE_TRACING.includes(attach ?? 0);
  if (type === PROG_LSM) return attach !== LSM_CGROUP;
  return type === ProgType.KPROBE || type === PROG_STRUCT_OPS;
}

/**
 * Before the walk (check_attach_btf_id): the refusal of a syscall program loaded without BPF_F_SLEEPABLE,
 * and of a sleepable program of a type that may not sleep; bpfkit's word that a sleepable program of
 * another type than kprobe or iterator is not modelled.
 */
export function sleepableCheck(type: number, sleepable: boolean, attach?: number): string | undefined {
  if (type === SYSCALL) return sleepable ? undefined : 'Syscall programs can only be sleepable';
  if (!sleepable) return undefined;
  if (!canBeSleepable(type, attach))
    return 'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable';
  // A sleepable iterator is walked as one that may sleep (iter.ts, calls.ts), as it was before this check.
  if (type === ProgType.KPROBE || (type === PROG_TRACING && attach === 28)) return undefined;
  return `bpfkit: sleepable programs of type ${type} are not modelled`;
}
