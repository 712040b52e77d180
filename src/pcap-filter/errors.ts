/**
 * The one error a filter expression can raise: what is wrong and the column where it is (1-based),
 * printed as one line; exit status 2 (bad input).
 */
import { BpfkitError, oneLine } from '../util/errors.js';

/** A rejected pcap-filter expression: libpcap's wording where libpcap has one, plus the column. */
export class FilterSyntaxError extends BpfkitError {
  /** 1-based column of the offending token (0 when the fault is not at one place). */
  readonly column: number;
  /** The message without the column prefix. */
  readonly reason: string;
  constructor(reason: string, column: number) {
    super(oneLine(column > 0 ? `column ${column}: ${reason}` : reason), 2);
    this.column = column;
    this.reason = reason;
  }
}
