/**
 * Live capture for `bpfkit urls -i IFACE`: an AF_PACKET socket with the eBPF filter attached in the kernel
 * (SO_ATTACH_BPF); kept frames go to the pipeline. Returns the kernel's drop count.
 */
import { EnvironmentError } from '../../util/errors.js';
import type { BuiltPipeline } from './build-pipeline.js';

export interface LiveOptions {
  count: number;
  shouldStop: () => boolean;
}

export async function captureLive(iface: string, built: BuiltPipeline, opts: LiveOptions): Promise<number> {
  void iface;
  void built;
  void opts;
  throw new EnvironmentError('live capture is not available yet');
}
