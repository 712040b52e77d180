/**
 * `collection.program(name)` and `collection.map(name)` on both engines: the same error, naming what the
 * collection has, when the name is not there.
 */
import { InputError } from '../util/errors.js';

/** The item called `name`, or an InputError (exit 2) listing the names there are. */
export function byName<T>(items: ReadonlyMap<string, T>, kind: 'program' | 'map', name: string): T {
  const item = items.get(name);
  if (item === undefined)
    throw new InputError(`no ${kind} named '${name}' (the collection has: ${[...items.keys()].join(', ') || 'none'})`);
  return item;
}
