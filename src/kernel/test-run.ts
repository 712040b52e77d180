/**
 * BPF_PROG_TEST_RUN: run a loaded program on given packet bytes (and optionally a context) inside the
 * kernel, with the JIT, and read back r0, the packet after the run and the average duration.
 *
 * attr: u32 prog_fd @0, u32 retval @4, u32 data_size_in @8, u32 data_size_out @12, u64 data_in @16,
 * u64 data_out @24, u32 repeat @32, u32 duration @36, u32 ctx_size_in @40, u32 ctx_size_out @44,
 * u64 ctx_in @48, u64 ctx_out @56, u32 flags @64, u32 cpu @68, u32 batch_size @72   (80 bytes)
 */
import { NativeBuffer, errnoName } from './libc.js';
import { Cmd, bpfRaw, kernelError } from './bpf-syscall.js';
import { KernelError } from './errors.js';

export interface TestRunRequest {
  data: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  /** Room for the packet to grow (XDP adjust_tail/head, tc push); default 4096 bytes. */
  growth?: number;
  flags?: number;
}

export interface TestRunResult {
  retval: number;
  data: Uint8Array;
  ctx?: Uint8Array;
  durationNs: number;
}

const ATTR_SIZE = 80;

/** A 64-bit pointer field without BigInt (test runs can be per packet). */
function setAddr(v: DataView, at: number, b: NativeBuffer): void {
  v.setUint32(at, b.addressLo, true);
  v.setUint32(at + 4, b.addressHi, true);
}

/** Reusable buffers per program: test runs in a loop (benchmarks, differential tests) allocate nothing native. */
export class TestRunner {
  private attr = new NativeBuffer(ATTR_SIZE);
  private dataIn: NativeBuffer | undefined;
  private dataOut: NativeBuffer | undefined;
  private ctxIn: NativeBuffer | undefined;
  private ctxOut: NativeBuffer | undefined;

  constructor(private readonly progName: string) {}

  private sized(buf: NativeBuffer | undefined, size: number): NativeBuffer {
    if (buf && buf.size >= size) return buf;
    buf?.free();
    return new NativeBuffer(Math.max(size, 64));
  }

  run(fd: number, req: TestRunRequest): TestRunResult {
    const data = req.data;
    const outSize = data.length + (req.growth ?? 4096);
    this.dataIn = this.sized(this.dataIn, data.length);
    this.dataIn.bytes.set(data);
    this.dataOut = this.sized(this.dataOut, outSize);
    const a = this.attr;
    const v = a.view;
    a.bytes.fill(0);
    v.setUint32(0, fd, true);
    v.setUint32(8, data.length, true);
    v.setUint32(12, outSize, true);
    setAddr(v, 16, this.dataIn);
    setAddr(v, 24, this.dataOut);
    v.setUint32(32, Math.max(1, req.repeat ?? 1), true);
    if (req.ctx && req.ctx.length > 0) {
      const ctxOutSize = Math.max(req.ctx.length, 256);
      this.ctxIn = this.sized(this.ctxIn, req.ctx.length);
      this.ctxIn.bytes.set(req.ctx);
      this.ctxOut = this.sized(this.ctxOut, ctxOutSize);
      this.ctxOut.bytes.fill(0);
      v.setUint32(40, req.ctx.length, true);
      v.setUint32(44, ctxOutSize, true);
      setAddr(v, 48, this.ctxIn);
      setAddr(v, 56, this.ctxOut);
    }
    v.setUint32(64, req.flags ?? 0, true);
    const r = bpfRaw(Cmd.PROG_TEST_RUN, a);
    if (r < 0) {
      const name = errnoName(-r);
      if (name === 'ENOSPC') {
        throw new KernelError(`test run of '${this.progName}'`, name, -r, `the packet grew beyond ${outSize} bytes`);
      }
      if (name === 'EINVAL') {
        // The kernel says EINVAL for bad input far more often than for a missing feature.
        const hint = data.length < 14 ? `the packet is ${data.length} bytes; test runs need at least 14 (an Ethernet header)` : 'the kernel refused the packet or context for this program type (size limits, or a ctx of the wrong shape)';
        throw new KernelError(`test run of '${this.progName}'`, name, -r, hint);
      }
      throw kernelError(-r, `test run of '${this.progName}'`, `BPF_PROG_TEST_RUN for this program type`);
    }
    const outLen = v.getUint32(12, true);
    const result: TestRunResult = {
      retval: v.getUint32(4, true),
      data: this.dataOut.bytes.slice(0, outLen),
      durationNs: v.getUint32(36, true),
    };
    if (req.ctx && req.ctx.length > 0) result.ctx = this.ctxOut!.bytes.slice(0, v.getUint32(44, true));
    return result;
  }

  close(): void {
    this.attr.free();
    this.dataIn?.free();
    this.dataOut?.free();
    this.ctxIn?.free();
    this.ctxOut?.free();
  }
}
