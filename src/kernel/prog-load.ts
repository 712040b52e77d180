/**
 * BPF_PROG_LOAD. The verifier's log is the useful part of a rejection, so a load that fails without a log
 * is retried with log level 1 and a buffer that grows until the whole log fits (the kernel reports the
 * size it needed in log_true_size since 6.4; older kernels say ENOSPC and we quadruple).
 */
import { NativeBuffer, errnoName } from './libc.js';
import { Cmd, bpfRaw, writeObjName } from './bpf-syscall.js';
import { BPF_ATTR, BPF_FUNC_INFO, BPF_LINE_INFO, getU32, setAddress, setU32 } from './abi/index.js';
import { NotSupportedError, PermissionError, VerifierError } from './errors.js';
import { ProgType, nameOf } from '../uapi/types.js';
import { EnvironmentError } from '../util/errors.js';
import { isRoot, lockdownMode } from './lockdown.js';
import { progTypeName } from '../elf/section-types.js';

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
  /** bpf_line_info records (insn_off, file_name_off, line_off, line_col), needs btfFd and funcInfo. */
  lineInfo?: Uint8Array;
  /** Kernel BTF id of the attach target (tracing, LSM, iterator programs). */
  attachBtfId?: number;
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

const PROG_LOAD = BPF_ATTR.prog_load;
const F = PROG_LOAD.fields;
const MAX_LOG = 1 << 28; // the kernel's own upper bound on log_size is UINT_MAX >> 2

/** Load one program into the kernel (BPF_PROG_LOAD). A refusal throws VerifierError with the verifier's log. */
export function loadProgram(req: ProgLoadRequest): ProgLoadResult {
  if (req.insns.length === 0 || req.insns.length % 8 !== 0) {
    throw new VerifierError(req.name, 'EINVAL', `program has ${req.insns.length} bytes of instructions`);
  }
  const insns = NativeBuffer.from(req.insns);
  const license = NativeBuffer.from(new TextEncoder().encode(`${req.license || 'GPL'}\0`));
  const attr = new NativeBuffer(PROG_LOAD.size);
  const funcInfo = req.funcInfo && req.funcInfo.length > 0 ? NativeBuffer.from(req.funcInfo) : undefined;
  const lineInfo = funcInfo && req.lineInfo && req.lineInfo.length > 0 ? NativeBuffer.from(req.lineInfo) : undefined;
  let log: NativeBuffer | undefined;
  try {
    const attempt = (level: number, logSize: number): number => {
      attr.bytes.fill(0);
      const v = attr.view;
      setU32(v, F.prog_type, req.type);
      setU32(v, F.insn_cnt, req.insns.length / 8);
      setAddress(v, F.insns, insns);
      setAddress(v, F.license, license);
      if (level > 0) {
        if (!log || log.size < logSize) {
          log?.free();
          log = new NativeBuffer(logSize);
        }
        log.bytes[0] = 0;
        setU32(v, F.log_level, level);
        setU32(v, F.log_size, logSize);
        setAddress(v, F.log_buf, log);
      }
      setU32(v, F.kern_version, req.kernelVersion ?? 0);
      setU32(v, F.prog_flags, req.progFlags ?? 0);
      writeObjName(attr.bytes, F.prog_name, req.name);
      setU32(v, F.expected_attach_type, req.expectedAttachType ?? 0);
      setU32(v, F.prog_btf_fd, req.btfFd ?? 0);
      setU32(v, F.attach_btf_id, req.attachBtfId ?? 0);
      if (funcInfo) {
        setU32(v, F.func_info_rec_size, BPF_FUNC_INFO.size);
        setAddress(v, F.func_info, funcInfo);
        setU32(v, F.func_info_cnt, funcInfo.size / BPF_FUNC_INFO.size);
      }
      if (lineInfo) {
        setU32(v, F.line_info_rec_size, BPF_LINE_INFO.size);
        setAddress(v, F.line_info, lineInfo);
        setU32(v, F.line_info_cnt, lineInfo.size / BPF_LINE_INFO.size);
      }
      return bpfRaw(Cmd.PROG_LOAD, attr);
    };
    const readLog = () =>
      log ? Buffer.from(log.bytes.subarray(0, Math.max(0, log.bytes.indexOf(0)))).toString('utf8') : '';

    const wanted = req.logLevel ?? 0;
    let size = req.logSize ?? 1 << 20;
    let r = attempt(wanted, size);
    if (r >= 0) return { fd: r, log: wanted > 0 ? readLog() : '' };
    let code = -r;
    let logged = wanted > 0;
    if (errnoName(code) === 'EPERM') {
      // The verifier refuses some programs with EPERM itself, saying why in its log; an EPERM whose log says
      // nothing but the closing statistics is the kernel refusing before the walk (lockdown refuses an
      // iterator that way, or no privilege). So ask with a log.
      if (!logged) {
        r = attempt(1, size);
        if (r >= 0) return { fd: r, log: '' };
        code = -r;
        logged = true;
      }
    }
    if (errnoName(code) === 'EPERM' && !saysWhy(readLog())) {
      const lockdown = isRoot() ? lockdownMode() : undefined;
      if (lockdown)
        throw new EnvironmentError(
          `loading program '${req.name}' (${progTypeName(req.type)}): not supported by this kernel (lockdown: ${lockdown}; EPERM)`,
        );
      throw new PermissionError(`loading program '${req.name}'`, 'EPERM');
    }
    // Rejected: load again with a log (if we had none) and grow the buffer until it holds the whole log.
    const level = wanted > 0 ? wanted : 1;
    if (!logged || errnoName(code) === 'ENOSPC') {
      for (let tries = 0; tries < 8; tries++) {
        if (errnoName(code) === 'ENOSPC') {
          if (size >= MAX_LOG) break;
          // The kernel reports the size the whole log needed (6.4+); else quadruple.
          const trueSize = getU32(attr.view, F.log_true_size);
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
    lineInfo?.free();
    log?.free();
  }
}

/** True when a verifier log holds more than its closing statistics: a reason for the refusal. */
function saysWhy(log: string): boolean {
  return log
    .split('\n')
    .some((line) => line.trim() !== '' && !/^(processed \d+ insns|verification time|stack depth)/.test(line));
}
