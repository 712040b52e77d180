/**
 * bpfkit's packet module (`bpfkit/packet`): capture file readers and writers (pcap, pcapng), an
 * allocation-free decoder from link layer to transport, and live capture. See docs/packets.md.
 *
 * @module bpfkit/packet
 */
export { readCapture, type Capture } from './read-capture.js';
export { openCapture, CaptureReader, DEFAULT_CHUNK_SIZE, type OpenOptions } from './capture-reader.js';
export {
  createCaptureWriter,
  CaptureWriter,
  formatForPath,
  type WriterOptions,
  type WritablePacket,
} from './capture-writer.js';
export { PacketRef, exactSeconds, type Packet, type PacketCallback, type CaptureInterface } from './packet.js';
export { RecordBatch, DEFAULT_BATCH_RECORDS } from './record-batch.js';
export { FrameView, frameOf, frameBytes, type Frame } from './frame.js';
export { LINKTYPE, linktypeName, parseLinktype } from './linktype.js';
export type { CaptureFormat } from './capture-format.js';
export type { TsResolution } from './timestamp.js';
export type { PcapHeader } from './pcap-parser.js';
export type { PcapngSection } from './pcapng-parser.js';
export {
  PacketView,
  ETHERTYPE,
  IPPROTO,
  TCP_FLAG,
  formatIPv4,
  formatIPv6,
  formatMac,
  formatIP,
} from './decode/index.js';
export { parseClassicBpf, type ClassicInsn } from '../cbpf/numeric-text.js';
export { LiveCapture, type LiveCaptureOptions, type LivePacket } from './live.js';
export { captureInfo, type CaptureInfo } from './capture-info.js';
export { describePacket } from './describe.js';
