import { BpfkitError } from '../../util/errors.js';

export async function run(_argv: string[]): Promise<number> {
  throw new BpfkitError('detach: not implemented yet');
}
