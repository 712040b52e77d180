/**
 * The HTTP URL sniffer behind `bpfkit urls` (`bpfkit/http`), as a library: build the pipeline for a mode
 * and an engine, feed it a capture file or a live interface, and get one {@link UrlRecord} per request.
 * The HTTP/1.x parsers and the full-mode analyzer are usable on their own. See docs/urls.md.
 *
 * @module bpfkit/http
 */
export {
  buildPipeline,
  type BuildOptions,
  type BuiltPipeline,
  type Mode,
  type EngineChoice,
} from './build-pipeline.js';
export { readCaptureInto, type ReadOptions } from './capture-source.js';
export { captureLive, type LiveOptions } from './live.js';
export { formatSummary, type UrlPipeline, type UrlSummary } from './pipeline.js';
export { textLine, jsonLine, type UrlRecord } from './record.js';
export {
  FullAnalyzer,
  DEFAULT_FULL,
  fullUrl,
  type FullOptions,
  type FullStats,
  type FlowEnds,
} from './full-analyzer.js';
export {
  RequestParser,
  ResponseParser,
  DEFAULT_LIMITS,
  type ParserLimits,
  type RequestHead,
  type ResponseHead,
  type RequestSink,
  type ResponseSink,
} from './http-parser.js';
