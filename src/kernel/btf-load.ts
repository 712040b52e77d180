/**
 * BPF_BTF_LOAD: hand the object's raw .BTF to the kernel so maps can name their key/value types.
 * Optional everywhere in bpfkit: when the kernel refuses the BTF (older kernels, kinds it does not know),
 * the collection loads without it.
 */
import { NativeBuffer } from './libc.js';
import { Cmd, bpfRaw, closeFd } from './bpf-syscall.js';
import { BPF_ATTR, setAddress, setU32 } from './abi/index.js';

const BTF_LOAD = BPF_ATTR.btf_load;
const F = BTF_LOAD.fields;

export interface BtfLoadResult {
  fd: number;
  /** -errno and the kernel's log when it refused. */
  error?: { code: number; log: string };
}

export function loadBtf(raw: Uint8Array): BtfLoadResult {
  const data = NativeBuffer.from(raw);
  const attr = new NativeBuffer(BTF_LOAD.size);
  const log = new NativeBuffer(64 * 1024);
  try {
    const call = (withLog: boolean) => {
      attr.bytes.fill(0);
      const v = attr.view;
      setAddress(v, F.btf, data);
      setU32(v, F.btf_size, raw.length);
      if (withLog) {
        setAddress(v, F.btf_log_buf, log);
        setU32(v, F.btf_log_size, log.size);
        setU32(v, F.btf_log_level, 1);
      }
      return bpfRaw(Cmd.BTF_LOAD, attr);
    };
    let r = call(false);
    if (r >= 0) return { fd: r };
    r = call(true);
    if (r >= 0) return { fd: r };
    const end = log.bytes.indexOf(0);
    return {
      fd: -1,
      error: { code: -r, log: Buffer.from(log.bytes.subarray(0, end < 0 ? log.size : end)).toString('utf8') },
    };
  } finally {
    data.free();
    attr.free();
    log.free();
  }
}

export { closeFd as closeBtf };
