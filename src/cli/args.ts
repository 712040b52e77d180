/**
 * Flag parsing shared by every subcommand: node's util.parseArgs, with its errors turned into
 * UsageError (exit 2) and `--help` handled the same way everywhere.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string;
  };
  positionals: string[];
  help: boolean;
}

export function parseFlags<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    const { help, ...rest } = values as Record<string, unknown>;
    return { values: rest as Parsed<O>['values'], positionals, help: help === true };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Parse an integer flag value, or throw a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 0, max?: number): number {
  if (value === undefined) return fallback;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(value)) throw new UsageError(`--${name} wants a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}`);
  if (max !== undefined && n > max) throw new UsageError(`--${name} must be at most ${max}`);
  return n;
}

/**
 * Refuse (UsageError, exit 2) a flag that was given but that `command` does not read: a subcommand that
 * shares its parser with others would otherwise accept another one's flag and ignore it — `cbpf check
 * -o FILE` writing no file, `map delete --flags exist` deleting anyway.
 */
export function onlyFlags(values: Record<string, unknown>, allowed: readonly string[], command: string): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || allowed.includes(name)) continue;
    // (tcpdump's -dd and -ddd, which cbpf parses as --dd and --ddd, are named as they were typed)
    const dash = name.length === 1 || /^d+$/.test(name) ? '-' : '--';
    throw new UsageError(`${dash}${name} does not apply to '${command}'`);
  }
}
