/**
 * The per-run host state helpers reach through `HelperCall.context`: which program type is running, the
 * packet, the context struct, the CPU, the collection's maps and programs, and what the program asked the
 * host to do (redirects, clones). One object per collection, reset at the start of every run, so a run
 * allocates nothing of its own on the hot path.
 */
import type { PacketBuffer } from './packet-buffer.js';
import type { VmMap } from '../maps/base.js';
import type { Memory } from '../memory.js';

import type { HostConfig } from '../../engine/options.js';

export type { HostConfig } from '../../engine/options.js';

/** A redirect a program asked for (bpf_redirect, bpf_clone_redirect), recorded instead of sent. */
export interface Verdict {
  kind: 'redirect' | 'clone_redirect';
  ifindex: number;
  flags: number;
  /** clone_redirect: the packet as it was cloned. */
  packet?: Uint8Array;
}

/** The __sk_buff fields the host models (the context struct is rebuilt from these each run). */
export interface SkbState {
  pktType: number;
  mark: number;
  queueMapping: number;
  /** skb->protocol as a host-order ethertype (0x0800); the ctx field shows it in network order. */
  protocol: number;
  vlanPresent: number;
  vlanTci: number;
  /** host-order (0x8100) */
  vlanProto: number;
  priority: number;
  ingressIfindex: number;
  ifindex: number;
  tcIndex: number;
  hash: number;
  tcClassid: number;
  napiId: number;
  /** wire_len given in the context passed in (0: the packet's length). */
  wireLen: number;
  /** skb->tstamp (ns): from the context passed in, written by tc and cgroup_skb programs, handed back. */
  tstamp: bigint;
}

export class RunContext {
  progType = 0;
  packet: PacketBuffer | undefined = undefined;
  /** VM address and bytes of the context struct (__sk_buff / xdp_md), when mapped. */
  ctxAddr = 0;
  ctxBytes: Uint8Array | undefined = undefined;
  skb: SkbState | undefined = undefined;
  /** The run was given a context struct (BPF_PROG_TEST_RUN fills some fields only then). */
  skbCtxGiven = false;
  /** Call after a helper changed the packet's bounds so the context's data pointers follow. */
  syncCtx: () => void = () => {};
  verdicts: Verdict[] = [];
  /**
   * Set during an in-place run (VmProgram.runPacketAt), where the packet buffer still holds an older
   * frame: a helper about to read `len` bytes at `addr` through a pointer argument calls it first, and
   * when those bytes touch the packet buffer the current frame is copied in, so what the helper reads is
   * what a copied run would give.
   */
  lazyPacket: ((addr: number, len: number) => void) | undefined = undefined;
  /** Maps by handle (a dense array: handles are small integers). */
  readonly maps: (VmMap | undefined)[] = [];
  /** VM base address of each map's value slab, by handle. */
  readonly mapBase: number[] = [];
  /** Programs by handle: the interpreter's LoadedProgram for tail calls. */
  readonly programs: unknown[] = [];
  readonly host: HostConfig;
  readonly memory: Memory;
  rngState: number;
  private scratch: { addr: number; bytes: Uint8Array } | undefined;
  private taskAddr = -1;

  constructor(memory: Memory, host: HostConfig) {
    this.memory = memory;
    this.host = host;
    this.rngState = host.randomSeed >>> 0 || 0x9e3779b9;
  }

  /** VM address of host.task's image (0: no task), mapped read-only on first use. */
  currentTask(): number {
    if (this.taskAddr < 0) {
      const t = this.host.task;
      this.taskAddr = t && t.length > 0 ? this.memory.map(t, { name: 'current task', writable: false }) : 0;
    }
    return this.taskAddr;
  }

  /** A small read-only-for-programs region holding keys handed to callbacks (mapped on first use). */
  keyScratch(): { addr: number; bytes: Uint8Array } {
    if (!this.scratch) {
      const bytes = new Uint8Array(512);
      this.scratch = { addr: this.memory.map(bytes, { name: 'callback key', writable: false }), bytes };
    }
    return this.scratch;
  }
}
