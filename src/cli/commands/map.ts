import { BpfkitError } from '../../util/errors.js';

export async function run(_argv: string[]): Promise<number> {
  throw new BpfkitError('map: not implemented yet');
}
