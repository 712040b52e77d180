/**
 * Ask the kernel whether it accepts a classic BPF program: attach it with SO_ATTACH_FILTER to a
 * throwaway UDP socket (no traffic, no privilege needed) and report the errno when it refuses. This is
 * the oracle the cBPF checker is tested against; it runs the very checks cls_bpf and packet sockets use.
 */
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { KernelError } from './errors.js';
import { EnvironmentError } from '../util/errors.js';
import { SOCK_FILTER, SOCK_FPROG, setAddress, setU16, setU32, setU8 } from './abi/index.js';
import type { ClassicInsn } from './packet-socket.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;

/** The kernel's answer: accepted, or the errno name it refused with (EINVAL for a program it rejects). */
export type ClassicVerdict = { accepted: true } | { accepted: false; errno: string };

/** One socket reused for many probes; close() it when done. */
export class ClassicFilterProbe {
  private fd: number;

  constructor() {
    this.fd = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number;
    if (this.fd < 0) {
      const code = errno();
      throw new KernelError('socket(AF_INET, SOCK_DGRAM)', errnoName(code), code);
    }
  }

  /** Attach `insns` (any length, even 0 or over the limit: the kernel judges). */
  attach(insns: readonly ClassicInsn[]): ClassicVerdict {
    if (this.fd < 0) throw new EnvironmentError('ClassicFilterProbe used after close()');
    const prog = new NativeBuffer(Math.max(1, insns.length) * SOCK_FILTER.size);
    const fprog = new NativeBuffer(SOCK_FPROG.size);
    try {
      const f = SOCK_FILTER.fields;
      insns.forEach((i, n) => {
        const at = n * SOCK_FILTER.size;
        setU16(prog.view, f.code, i.code, at);
        setU8(prog.view, f.jt, i.jt, at);
        setU8(prog.view, f.jf, i.jf, at);
        setU32(prog.view, f.k, i.k >>> 0, at);
      });
      setU16(fprog.view, SOCK_FPROG.fields.len, insns.length & 0xffff);
      setAddress(fprog.view, SOCK_FPROG.fields.filter, prog);
      if ((libc().setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog.ptr, SOCK_FPROG.size) as number) < 0) {
        return { accepted: false, errno: errnoName(errno()) };
      }
      return { accepted: true };
    } finally {
      prog.free();
      fprog.free();
    }
  }

  /** Close the probe's socket; later probes throw. */
  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }
}
