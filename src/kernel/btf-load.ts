/**
 * BPF_BTF_LOAD: hand the object's raw .BTF to the kernel so maps can name their key/value types.
 * Optional everywhere in bpfkit: when the kernel refuses the BTF (older kernels, kinds it does not know),
 * the collection loads without it.
 *
 * attr: u64 btf @0, u64 btf_log_buf @8, u32 btf_size @16, u32 btf_log_size @20, u32 btf_log_level @24
 */
import { NativeBuffer } from './libc.js';
import { Cmd, bpfRaw, closeFd } from './bpf-syscall.js';

export interface BtfLoadResult {
  fd: number;
  /** -errno and the kernel's log when it refused. */
  error?: { code: number; log: string };
}

export function loadBtf(raw: Uint8Array): BtfLoadResult {
  const data = NativeBuffer.from(raw);
  const attr = new NativeBuffer(32);
  const log = new NativeBuffer(64 * 1024);
  try {
    const call = (withLog: boolean) => {
      attr.bytes.fill(0);
      attr.view.setBigUint64(0, data.address, true);
      attr.view.setUint32(16, raw.length, true);
      if (withLog) {
        attr.view.setBigUint64(8, log.address, true);
        attr.view.setUint32(20, log.size, true);
        attr.view.setUint32(24, 1, true);
      }
      return bpfRaw(Cmd.BTF_LOAD, attr);
    };
    let r = call(false);
    if (r >= 0) return { fd: r };
    r = call(true);
    if (r >= 0) return { fd: r };
    const end = log.bytes.indexOf(0);
    return { fd: -1, error: { code: -r, log: Buffer.from(log.bytes.subarray(0, end < 0 ? log.size : end)).toString('utf8') } };
  } finally {
    data.free();
    attr.free();
    log.free();
  }
}

export { closeFd as closeBtf };
