/**
 * BPF_PROG_TEST_RUN: run a loaded program on given packet bytes (and optionally a context) inside the
 * kernel, with the JIT, and read back r0, the packet after the run and the average duration.
 */
import { NativeBuffer, errnoName } from './libc.js';
import { Cmd, bpfRaw, kernelError } from './bpf-syscall.js';
import { KernelError } from './errors.js';
import { BPF_ATTR, getU32, setAddress, setU32 } from './abi/index.js';

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

const TEST = BPF_ATTR.test;
const F = TEST.fields;

/** Reusable buffers per program: test runs in a loop (benchmarks, differential tests) allocate nothing native. */
export class TestRunner {
  private attr = new NativeBuffer(TEST.size);
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
    // Test runs can be per packet: addresses go in without BigInts (setAddress).
    setU32(v, F.prog_fd, fd);
    setU32(v, F.data_size_in, data.length);
    setU32(v, F.data_size_out, outSize);
    setAddress(v, F.data_in, this.dataIn);
    setAddress(v, F.data_out, this.dataOut);
    setU32(v, F.repeat, Math.max(1, req.repeat ?? 1));
    if (req.ctx && req.ctx.length > 0) {
      const ctxOutSize = Math.max(req.ctx.length, 256);
      this.ctxIn = this.sized(this.ctxIn, req.ctx.length);
      this.ctxIn.bytes.set(req.ctx);
      this.ctxOut = this.sized(this.ctxOut, ctxOutSize);
      this.ctxOut.bytes.fill(0);
      setU32(v, F.ctx_size_in, req.ctx.length);
      setU32(v, F.ctx_size_out, ctxOutSize);
      setAddress(v, F.ctx_in, this.ctxIn);
      setAddress(v, F.ctx_out, this.ctxOut);
    }
    setU32(v, F.flags, req.flags ?? 0);
    const r = bpfRaw(Cmd.PROG_TEST_RUN, a);
    if (r < 0) {
      const name = errnoName(-r);
      if (name === 'ENOSPC') {
        throw new KernelError(`test run of '${this.progName}'`, name, -r, `the packet grew beyond ${outSize} bytes`);
      }
      if (name === 'EINTR') {
        // The kernel stops a long --repeat when a signal is pending; the signal's handler ends the process.
        throw new KernelError(`test run of '${this.progName}'`, name, -r, 'interrupted by a signal');
      }
      if (name === 'EINVAL') {
        // The kernel says EINVAL for bad input far more often than for a missing feature.
        const hint =
          data.length < 14
            ? `the packet is ${data.length} bytes; test runs need at least 14 (an Ethernet header)`
            : 'the kernel refused the packet or context for this program type (size limits, or a ctx of the wrong shape)';
        throw new KernelError(`test run of '${this.progName}'`, name, -r, hint);
      }
      throw kernelError(-r, `test run of '${this.progName}'`, `BPF_PROG_TEST_RUN for this program type`);
    }
    const outLen = getU32(v, F.data_size_out);
    const result: TestRunResult = {
      retval: getU32(v, F.retval),
      data: this.dataOut.bytes.slice(0, outLen),
      durationNs: getU32(v, F.duration),
    };
    if (req.ctx && req.ctx.length > 0) result.ctx = this.ctxOut!.bytes.slice(0, getU32(v, F.ctx_size_out));
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
