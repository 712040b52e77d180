/** `--type TYPE` of `run` and `prog load`: the program type for sections without a libbpf name. */
import { UsageError } from '../util/errors.js';
import { programTypeByName, type SectionType } from '../elf/section-types.js';

/** Parse `--type` (a program type as bpftool names it, `socket`/`tc`, or a libbpf section name); undefined when absent. */
export function typeFlag(value: string | undefined): SectionType | undefined {
  if (value === undefined) return undefined;
  const aliases: Record<string, string> = { socket: 'socket_filter', tc: 'sched_cls', classifier: 'sched_cls' };
  const st = programTypeByName(aliases[value] ?? value);
  if (!st)
    throw new UsageError(
      `--type: unknown program type '${value}' (a type like socket_filter, sched_cls, xdp, tracing, or a section name like tp_btf/NAME)`,
    );
  return st;
}
