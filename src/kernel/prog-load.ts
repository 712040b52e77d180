/**
 * BPF_PROG_LOAD. The verifier's log is the useful part of a rejection, so a load that fails without a log
 * is retried with log level 1 and a buffer that grows until the whole log fits (the kernel reports the
 * size it needed in log_true_size since 6.4; older kernels say ENOSPC and we quadruple).
 */
import { NativeBuffer, errnoName } from './libc.js';
import { Cmd, bpfRaw, writeObjName } from './bpf-syscall.js';
import { NotSupportedError, PermissionError, VerifierError } from './errors.js';
import { ProgType, nameOf } from '../uapi/types.js';

/** The fields of BPF_PROG_LOAD that bpfkit sets. */
export interface ProgLoadRequest {
  name: string;
  type: number;
  /** Encoded instructions (8 bytes a slot, host byte order). */
  insns: Uint8Array;
  license: string;
  kernelVersion?: number;
  expectedAttachType?: number;
  progFlags?: number;
  /** BTF object fd for the program (0 = none). */
  btfFd?: number;
  /** bpf_func_info records (u32 insn_off, u32 type_id), needs btfFd. */
  funcInfo?: Uint8Array;
  /** Ask for a verifier log even on success (1 = verbose, 2 = state at every insn). */
  logLevel?: number;
  /** First size of the log buffer (default 1 MiB); it grows when the kernel says the log did not fit. */
  logSize?: number;
}

/** A loaded program's fd, and the verifier's log when one was asked for. */
export interface ProgLoadResult {
  fd: number;
  /** The verifier log when logLevel > 0 was requested. */
  log: string;
}

// union bpf_attr, BPF_PROG_LOAD part (offsets from include/uapi/linux/bpf.h).
const PROG_LOAD_SIZE = 152;
const MAX_LOG = 1 << 28; // the kernel's own upper bound on log_size is UINT_MAX >> 2

/** Load one program into the kernel (BPF_PROG_LOAD). A refusal throws VerifierError with the verifier's log. */
export function loadProgram(req: ProgLoadRequest): ProgLoadResult {
  if (req.insns.length === 0 || req.insns.length % 8 !== 0) {
    throw new VerifierError(req.name, 'EINVAL', `program has ${req.insns.length} bytes of instructions`);
  }
  const insns = NativeBuffer.from(req.insns);
  const license = NativeBuffer.from(new TextEncoder().encode(`${req.license || 'GPL'}\0`));
  const attr = new NativeBuffer(PROG_LOAD_SIZE);
  const funcInfo = req.funcInfo && req.funcInfo.length > 0 ? NativeBuffer.from(req.funcInfo) : undefined;
  let log: NativeBuffer | undefined;
  try {
    const attempt = (level: number, logSize: number): number => {
      attr.bytes.fill(0);
      const v = attr.view;
      v.setUint32(0, req.type, true);
      v.setUint32(4, req.insns.length / 8, true);
      v.setBigUint64(8, insns.address, true);
      v.setBigUint64(16, license.address, true);
      if (level > 0) {
        if (!log || log.size < logSize) {
          log?.free();
          log = new NativeBuffer(logSize);
        }
        log.bytes[0] = 0;
        v.setUint32(24, level, true);
        v.setUint32(28, logSize, true);
        v.setBigUint64(32, log.address, true);
      }
      v.setUint32(40, req.kernelVersion ?? 0, true);
      v.setUint32(44, req.progFlags ?? 0, true);
      writeObjName(attr, 48, req.name);
      v.setUint32(68, req.expectedAttachType ?? 0, true);
      v.setUint32(72, req.btfFd ?? 0, true);
      if (funcInfo) {
        v.setUint32(76, 8, true); // func_info_rec_size
        v.setBigUint64(80, funcInfo.address, true);
        v.setUint32(88, funcInfo.size / 8, true);
      }
      return bpfRaw(Cmd.PROG_LOAD, attr);
    };
    const readLog = () => (log ? Buffer.from(log.bytes.subarray(0, Math.max(0, log.bytes.indexOf(0)))).toString('utf8') : '');

    const wanted = req.logLevel ?? 0;
    let size = req.logSize ?? 1 << 20;
    let r = attempt(wanted, size);
    if (r >= 0) return { fd: r, log: wanted > 0 ? readLog() : '' };
    let code = -r;
    if (errnoName(code) === 'EPERM') throw new PermissionError(`loading program '${req.name}'`, 'EPERM');
    // Rejected: load again with a log (if we had none) and grow the buffer until it holds the whole log.
    const level = wanted > 0 ? wanted : 1;
    if (wanted === 0 || errnoName(code) === 'ENOSPC') {
      for (let tries = 0; tries < 8; tries++) {
        if (errnoName(code) === 'ENOSPC') {
          if (size >= MAX_LOG) break;
          // The kernel reports the size the whole log needed (6.4+); else quadruple.
          const trueSize = attr.view.getUint32(140, true);
          size = Math.min(MAX_LOG, Math.max(trueSize + 1, size * 4));
        }
        r = attempt(level, size);
        if (r >= 0) return { fd: r, log: readLog() };
        code = -r;
        if (errnoName(code) !== 'ENOSPC') break;
      }
    }
    const text = readLog();
    const name = errnoName(code);
    if (!text.trim() && (name === 'EINVAL' || name === 'EOPNOTSUPP' || name === 'ENOTSUPP')) {
      const at = req.expectedAttachType ? ` with expected attach type ${req.expectedAttachType}` : '';
      throw new NotSupportedError(`program type ${nameOf(ProgType, req.type)}${at} for '${req.name}'`, name);
    }
    throw new VerifierError(req.name, name, text);
  } finally {
    insns.free();
    license.free();
    attr.free();
    funcInfo?.free();
    (log as NativeBuffer | undefined)?.free();
  }
}
