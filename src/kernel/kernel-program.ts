/**
 * A program loaded into the kernel, with the Program face both engines share. run() is
 * BPF_PROG_TEST_RUN; pin() puts it on bpffs.
 *
 * Socket filters: the kernel's test run strips the Ethernet header before the program sees the packet
 * (eth_type_trans), while a packet socket runs the same filter on the frame from its MAC header. To give
 * run() the raw-socket view both engines promise, we prepend a copy of the frame's first 14 bytes: the
 * kernel consumes that copy (setting skb->protocol from the frame's own EtherType) and the program sees
 * the whole frame. The zeroed header the kernel puts back on data_out is dropped again.
 */
import type { Program, RunOptions, RunResult } from '../engine/types.js';
import { BpfkitError } from '../util/errors.js';
import { ProgType } from '../uapi/types.js';
import { closeFd } from './bpf-syscall.js';
import { track, untrack } from './lifecycle.js';
import { pinObject, progInfo, type ProgInfo } from './objects.js';
import { TestRunner } from './test-run.js';
import { onCpu } from './cpus.js';

const ETH_HLEN = 14;

/** A program loaded into the kernel; `run` goes through BPF_PROG_TEST_RUN. */
export class KernelProgram implements Program {
  private _fd: number;
  private runner: TestRunner | undefined;

  constructor(
    fd: number,
    readonly name: string,
    readonly type: number,
    /** The verifier log, when one was asked for at load time. */
    readonly verifierLog = '',
  ) {
    this._fd = fd;
    track(this);
  }

  get fd(): number {
    if (this._fd < 0) throw new BpfkitError(`program '${this.name}' is closed`);
    return this._fd;
  }

  get closed(): boolean {
    return this._fd < 0;
  }

  /** Run the program in the kernel with BPF_PROG_TEST_RUN on the given packet and/or context. */
  run(opts: RunOptions): RunResult {
    const data = opts.data ?? new Uint8Array(0);
    this.runner ??= new TestRunner(this.name);
    const socketView = this.type === ProgType.SOCKET_FILTER;
    let input = data;
    if (socketView) {
      input = new Uint8Array(data.length + ETH_HLEN);
      input.set(data.subarray(0, ETH_HLEN));
      input.set(data, ETH_HLEN);
    }
    const runner = this.runner;
    const fd = this.fd;
    // on the CPU the VM's run would use (its host.cpu, 0 by default), so per-CPU maps agree
    const r = onCpu(opts.cpu ?? 0, () =>
      runner.run(fd, {
        data: input,
        ...(opts.ctx ? { ctx: opts.ctx } : {}),
        ...(opts.repeat ? { repeat: opts.repeat } : {}),
      }),
    );
    const out: RunResult = {
      retval: r.retval >>> 0,
      data: socketView ? r.data.slice(ETH_HLEN) : r.data,
      durationNs: r.durationNs,
    };
    if (r.ctx) out.ctx = r.ctx;
    return out;
  }

  /** What the kernel reports of the program (BPF_OBJ_GET_INFO_BY_FD). */
  info(): ProgInfo {
    return progInfo(this.fd);
  }

  /** Pin the program on bpffs at `path`, so it outlives this process. */
  pin(path: string): void {
    pinObject(this.fd, path);
  }

  /** Close the program's fd (the program lives on while pinned or attached). */
  close(): void {
    if (this._fd < 0) return;
    closeFd(this._fd);
    this._fd = -1;
    untrack(this);
    this.runner?.close();
    this.runner = undefined;
  }
}
