/**
 * The messages between `bpfkit urls --threads N`'s main thread (sharded-capture.ts) and its shard threads
 * (shard-thread.ts), in a module of their own so each side names them without loading the other's code.
 *
 * Every frame of the capture has an index (its place in the file, from 0). A record is tagged with the
 * index of the frame whose processing reported it; records reported at the end of input are tagged
 * FINISH_TAG + the index of the frame that opened their flow (one thread closes its flows in the order
 * they opened), and UNTAGGED for anything else. Merging the shards' records by tag gives one thread's order.
 */
import type { FullStats } from './full-analyzer.js';
import type { FrameCounts } from './full-pipeline.js';
import type { VmExecution } from '../../engine/options.js';
import type { ObjectSpec } from '../../elf/spec.js';

/** Per frame in a batch's `meta`: frame index, timestamp (s), offset in `data`, caplen, origLen, link type. */
export const META_FIELDS = 6;
/** Tags at and past this are records reported at the end of input. */
export const FINISH_TAG = 2 ** 40;
/** Records reported at the end of input outside any flow (none are known today): last. */
export const UNTAGGED = 2 ** 52;

/** What a shard thread is started with. */
export interface ShardInput {
  shard: number;
  shards: number;
  engine: 'vm' | 'none';
  vmEngine?: VmExecution;
  format: 'text' | 'json';
  maxLine: number;
  maxFlows: number;
  idleTimeoutSec: number;
  /** this shard's part of the memory budget, bytes */
  maxMemory: number;
}

/** A shard's counters at the end of input, for the run's summary. */
export interface ShardEnd {
  counts: FrameCounts;
  stats: FullStats;
  reasons: { name: string; count: number }[];
}

export type ToShard =
  /**
   * First, with --engine vm: the filter object, parsed once by the reading thread (a shard thread then
   * loads neither the ELF reader nor the file while it starts).
   */
  | { type: 'filter'; spec: ObjectSpec }
  /**
   * Batch `seq`: the frames of one chunk of the capture that belong to this shard (`count` of them,
   * possibly none), their bytes in `data` (the chunk as read, shared by every shard and not written
   * until each has answered; absent when no frame came) and where each is in `meta` (META_FIELDS per
   * frame). After them, every frame up to index `upTo` has been dealt out. `origin`: the capture's first
   * timestamp (the filter's clock counts from it). `clock`: the timestamp of frame `upTo` (NaN before
   * the first), the capture's clock as the reading thread saw it, on which the shard sweeps idle flows.
   */
  | {
      type: 'frames';
      seq: number;
      data: SharedArrayBuffer | undefined;
      meta: ArrayBuffer;
      count: number;
      upTo: number;
      origin: number;
      clock: number;
    }
  /** End of input: close the flows, report, send the counters. */
  | { type: 'finish' };

export type FromShard =
  /**
   * Records (lines of output with their tags) of the frames up to `upTo`; also the acknowledgement of
   * batch `seq` (its chunk may be read into again), with its `meta` given back for the next batch.
   */
  | { type: 'records'; seq: number; lines: string[]; tags: ArrayBuffer; upTo: number; meta?: ArrayBuffer }
  /** After 'finish': the last records came before this; the shard's counters. */
  | ({ type: 'end' } & ShardEnd)
  | { type: 'error'; name: string; message: string; exitCode: number };
